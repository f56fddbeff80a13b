"""`fleet-wiki`: run the wiki MCP server (settings from FLEET_WIKI_* environment variables)."""

from __future__ import annotations

from fleet_core import build_app, serve

from .mediawiki import MediaWikiClient
from .server import build_server
from .settings import WikiSettings


def main() -> None:
    settings = WikiSettings()  # type: ignore[call-arg]  # required fields come from the environment
    backend = MediaWikiClient(
        settings.url,
        settings.bot_username,
        settings.bot_password.get_secret_value(),
        timeout=settings.timeout_seconds,
        maxlag=settings.maxlag_seconds,
        max_retries=settings.max_retries,
    )
    serve(build_app(build_server(settings, backend), settings, ready=backend.ping), settings)


if __name__ == "__main__":
    main()
