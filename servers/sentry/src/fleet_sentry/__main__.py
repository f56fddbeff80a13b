"""`fleet-sentry`: serve the Sentry MCP server over stateless Streamable HTTP (FLEET_SENTRY_* settings).

`fleet-sentry --stdio` serves one local user over stdio instead: there is no front door, so the
identity is explicit — FLEET_SENTRY_STDIO_USER (the name changes are attributed to) and
FLEET_SENTRY_STDIO_SCOPES (default "sentry:read"; add "sentry:write" to allow changes).
"""

from __future__ import annotations

import sys

from fleet_core import build_app, run_stdio, serve, settings_or_exit, stdio_caller

from .backend import SentryClient
from .server import build_server
from .settings import SentrySettings


def _client(settings: SentrySettings) -> SentryClient:
    if not settings.auth_token.get_secret_value():
        sys.exit("fleet-sentry: FLEET_SENTRY_AUTH_TOKEN is required (an organization auth token)")
    return SentryClient(settings)


def main() -> None:
    if "--stdio" in sys.argv[1:]:
        # No gateway in front of stdio: the HTTP trust settings don't apply, so don't demand them.
        settings = settings_or_exit(lambda: SentrySettings(trust_mode="insecure-dev"), "fleet-sentry")
        who = stdio_caller("sentry", who="the name changes in Sentry are attributed to")
        run_stdio(build_server(settings, _client(settings)), who)
        return
    settings = settings_or_exit(SentrySettings, "fleet-sentry")
    client = _client(settings)

    async def ready() -> None:
        if settings.org:
            await client.organization(settings.org)

    serve(build_app(build_server(settings, client), settings, ready=ready), settings)


if __name__ == "__main__":
    main()
