"""fleet_wiki."""
