"""fleet_frontdoor."""
