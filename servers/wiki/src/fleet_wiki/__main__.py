"""`fleet-wiki`: serve the MediaWiki MCP server over stateless Streamable HTTP (FLEET_WIKI_* settings).

`fleet-wiki --stdio` serves one local user over stdio instead: there is no front door, so the
identity is explicit — FLEET_WIKI_STDIO_USER (the name credited in edit summaries) and
FLEET_WIKI_STDIO_SCOPES (default "wiki:read"; add "wiki:write" to allow edits).
"""

from __future__ import annotations

import sys

from fleet_core import build_app, run_stdio, serve, settings_or_exit, stdio_caller

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


def main() -> None:
    if "--stdio" in sys.argv[1:]:
        # No gateway in front of stdio: the HTTP trust settings don't apply, so don't demand them.
        settings = settings_or_exit(lambda: WikiSettings(trust_mode="insecure-dev"), "fleet-wiki")
        who = stdio_caller("wiki", who="the name credited in edit summaries")
        run_stdio(build_server(settings, _client(settings)), who)
        return
    # Required fields come from the environment (FLEET_WIKI_*).
    settings = settings_or_exit(WikiSettings, "fleet-wiki")
    backend = _client(settings)
    serve(build_app(build_server(settings, backend), settings, ready=backend.ping), settings)


if __name__ == "__main__":
    main()
