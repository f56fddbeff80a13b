"""Compose hook (`fleet gateway kong`): MediaWiki, and a one-shot job installing it and its bot."""

from __future__ import annotations

from fleet_core.deploy import Backend, required

__all__ = ["backend"]


def backend() -> Backend:
    bot_password = required(
        "FLEET_WIKI_BOT_PASSWORD", "set FLEET_WIKI_BOT_PASSWORD in .env (uv run fleet stack init)"
    )
    return Backend(
        env={
            "FLEET_WIKI_URL": "http://mediawiki",
            "FLEET_WIKI_BOT_USERNAME": "Fleetbot@fleet",  # what wiki-init creates
            "FLEET_WIKI_BOT_PASSWORD": bot_password,
        },
        depends_on={"mediawiki": "service_started", "wiki-init": "service_completed_successfully"},
        services={
            # one-shot and idempotent: installs the wiki into its volume once, and on every start
            # converges the bot and its BotPassword on .env (fleet_wiki.provision, tested against
            # the real MediaWiki)
            "wiki-init": {
                "build": {"context": ".", "dockerfile": "servers/wiki/init.Dockerfile"},
                "image": "mcp-fleet-wiki-init:local",
                "environment": {
                    "MW_SERVER": "http://mediawiki",
                    "MW_ADMIN_PASSWORD": required(
                        "FLEET_WIKI_ADMIN_PASSWORD",
                        "set FLEET_WIKI_ADMIN_PASSWORD in .env (uv run fleet stack init)",
                    ),
                    "FLEET_WIKI_BOT_PASSWORD": bot_password,
                },
                "volumes": ["mediawiki-data:/var/www/data"],
                "restart": "no",
            },
            "mediawiki": {
                "image": "mediawiki:1.43",
                # wiki-init wrote LocalSettings.php and the SQLite files into the volume
                "environment": {"MW_CONFIG_FILE": "/var/www/data/LocalSettings.php"},
                "volumes": ["mediawiki-data:/var/www/data", "mediawiki-images:/var/www/html/images"],
                "depends_on": {"wiki-init": {"condition": "service_completed_successfully"}},
                "restart": "unless-stopped",
            },
        },
        volumes=("mediawiki-data", "mediawiki-images"),
        env_example=(
            "# --- wiki: wiki-init installs MediaWiki (admin `Admin`) and the bot Fleetbot@fleet with these",
            "FLEET_WIKI_ADMIN_PASSWORD=",
            "FLEET_WIKI_BOT_PASSWORD=",
        ),
        generated_secrets=("FLEET_WIKI_ADMIN_PASSWORD", "FLEET_WIKI_BOT_PASSWORD"),
    )
