"""fleet_core."""
