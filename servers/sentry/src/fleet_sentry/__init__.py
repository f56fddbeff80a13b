"""fleet_sentry."""
