"""fleet_client."""
