"""`fleet-wiki`: serve the MediaWiki MCP server over stateless Streamable HTTP (FLEET_WIKI_* settings).

`fleet-wiki --stdio` serves one local user over stdio instead: there is no front door, so the
identity is explicit — FLEET_WIKI_STDIO_USER (the name credited in edit summaries) and
FLEET_WIKI_STDIO_SCOPES (default "wiki:read"; add "wiki:write" to allow edits).
"""

from __future__ import annotations

import contextlib

from fleet_core import Started, server_main

from .backend import MediaWikiClient
from .server import build_server
from .settings import WikiSettings


def _client(settings: WikiSettings) -> MediaWikiClient:
    return MediaWikiClient(
        settings.url,
        settings.bot_username,
        settings.bot_password.get_secret_value(),
        timeout=settings.timeout_seconds,
        maxlag=settings.maxlag_seconds,
        max_retries=settings.max_retries,
    )


def _start(settings: WikiSettings, stack: contextlib.ExitStack) -> Started:
    backend = _client(settings)
    return build_server(settings, backend), backend.ping


def main() -> None:
    # Required fields come from the environment (FLEET_WIKI_*).
    server_main("wiki", WikiSettings, _start, stdio_user="the name credited in edit summaries")


if __name__ == "__main__":
    main()
