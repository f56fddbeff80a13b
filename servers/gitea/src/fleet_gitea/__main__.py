"""`fleet-gitea`: serve the Gitea MCP server over stateless Streamable HTTP (FLEET_GITEA_* settings)."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from fleet_core import build_app, serve

from .gitea import GiteaClient
from .server import build_server
from .settings import GiteaSettings


def main() -> None:
    try:
        settings = GiteaSettings()
    except ValidationError as exc:
        sys.exit(f"fleet-gitea: invalid settings:\n{exc}")
    if not settings.url or not settings.token.get_secret_value():
        sys.exit("fleet-gitea: set FLEET_GITEA_URL and FLEET_GITEA_TOKEN (a site-admin service token)")
    backend = GiteaClient(
        settings.url,
        settings.token.get_secret_value(),
        timeout=settings.timeout_seconds,
        read_retries=settings.read_retries,
    )

    async def ready() -> None:
        await backend.version()  # service token only: no Sudo, no user's power

    serve(build_app(build_server(settings, backend), settings, ready=ready), settings)


if __name__ == "__main__":
    main()
