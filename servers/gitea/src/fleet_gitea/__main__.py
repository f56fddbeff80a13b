"""`fleet-gitea`: serve the Gitea MCP server over stateless Streamable HTTP (FLEET_GITEA_* settings).

`fleet-gitea --stdio` serves one local user over stdio instead: there is no front door, so the
identity is explicit — FLEET_GITEA_STDIO_USER (the Gitea username to act as) and
FLEET_GITEA_STDIO_SCOPES (default "gitea:read"; add "gitea:write" to allow writes).
"""

from __future__ import annotations

import contextlib
import sys

from fleet_core import Started, server_main

from .backend import GiteaClient
from .server import build_server
from .settings import GiteaSettings


def _client(settings: GiteaSettings) -> GiteaClient:
    if not settings.url or not settings.token.get_secret_value():
        sys.exit("fleet-gitea: set FLEET_GITEA_URL and FLEET_GITEA_TOKEN (a site-admin service token)")
    return GiteaClient(
        settings.url,
        settings.token.get_secret_value(),
        timeout=settings.timeout_seconds,
        read_retries=settings.read_retries,
    )


def _start(settings: GiteaSettings, stack: contextlib.ExitStack) -> Started:
    backend = _client(settings)

    async def ready() -> None:
        await backend.version()  # service token only: no Sudo, no user's power

    return build_server(settings, backend), ready


def main() -> None:
    server_main("gitea", GiteaSettings, _start, stdio_user="the Gitea user to act as")


if __name__ == "__main__":
    main()
