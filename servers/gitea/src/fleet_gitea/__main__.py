"""`fleet-gitea`: serve the Gitea MCP server over stateless Streamable HTTP."""

from __future__ import annotations

from fleet_core import build_app, serve

from .gitea import GiteaClient
from .server import build_server
from .settings import GiteaSettings


def main() -> None:
    settings = GiteaSettings()
    if not settings.url or not settings.token.get_secret_value():
        raise SystemExit(
            "fleet-gitea: set FLEET_GITEA_URL and FLEET_GITEA_TOKEN (a site-admin service token)"
        )
    backend = GiteaClient(
        settings.url,
        settings.token.get_secret_value(),
        timeout=settings.timeout_seconds,
        read_retries=settings.read_retries,
    )

    async def ready() -> None:
        await backend.version()

    serve(build_app(build_server(settings, backend), settings, ready=ready), settings)


if __name__ == "__main__":
    main()
