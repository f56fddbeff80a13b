"""fleet_db."""
