"""fleet_gitea."""
