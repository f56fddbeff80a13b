"""`fleet-sentry`: serve the Sentry MCP server over stateless Streamable HTTP (FLEET_SENTRY_* settings).

`fleet-sentry --stdio` serves one local user over stdio instead: there is no front door, so the
identity is explicit — FLEET_SENTRY_STDIO_USER (the name changes are attributed to) and
FLEET_SENTRY_STDIO_SCOPES (default "sentry:read"; add "sentry:write" to allow changes).
"""

from __future__ import annotations

import contextlib
import sys

from fleet_core import Started, server_main

from .backend import SentryClient
from .server import build_server
from .settings import SentrySettings


def _client(settings: SentrySettings) -> SentryClient:
    if not settings.auth_token.get_secret_value():
        sys.exit("fleet-sentry: FLEET_SENTRY_AUTH_TOKEN is required (an organization auth token)")
    return SentryClient(settings)


def _start(settings: SentrySettings, stack: contextlib.ExitStack) -> Started:
    client = _client(settings)

    async def ready() -> None:
        if settings.org:
            await client.organization(settings.org)

    return build_server(settings, client), ready


def main() -> None:
    server_main("sentry", SentrySettings, _start, stdio_user="the name changes in Sentry are attributed to")


if __name__ == "__main__":
    main()
