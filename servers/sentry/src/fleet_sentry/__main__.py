"""`fleet-sentry`: run the Sentry MCP server (settings from FLEET_SENTRY_* environment variables)."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from fleet_core import build_app, serve

from .sentry import SentryClient
from .server import build_server
from .settings import SentrySettings


def main() -> None:
    try:
        settings = SentrySettings()
    except ValidationError as exc:
        sys.exit(f"fleet-sentry: invalid settings:\n{exc}")
    if not settings.auth_token.get_secret_value():
        sys.exit("fleet-sentry: FLEET_SENTRY_AUTH_TOKEN is required (an organization auth token)")
    client = SentryClient(settings)

    async def ready() -> None:
        if settings.org:
            await client.organization(settings.org)

    serve(build_app(build_server(settings, client), settings, ready=ready), settings)


if __name__ == "__main__":
    main()
