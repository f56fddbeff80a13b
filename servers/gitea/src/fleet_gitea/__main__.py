"""`fleet-gitea`: serve the Gitea MCP server over stateless Streamable HTTP (FLEET_GITEA_* settings).

`fleet-gitea --stdio` serves one local user over stdio instead: there is no front door, so the
identity is explicit — FLEET_GITEA_STDIO_USER (the Gitea username to act as) and
FLEET_GITEA_STDIO_SCOPES (default "gitea:read"; add "gitea:write" to allow writes).
"""

from __future__ import annotations

import sys

from fleet_core import build_app, run_stdio, serve, settings_or_exit, stdio_caller

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


def main() -> None:
    if "--stdio" in sys.argv[1:]:
        # No gateway in front of stdio: the HTTP trust settings don't apply, so don't demand them.
        settings = settings_or_exit(lambda: GiteaSettings(trust_mode="insecure-dev"), "fleet-gitea")
        who = stdio_caller("gitea", who="the Gitea user to act as")
        run_stdio(build_server(settings, _client(settings)), who)
        return
    settings = settings_or_exit(GiteaSettings, "fleet-gitea")
    backend = _client(settings)

    async def ready() -> None:
        await backend.version()  # service token only: no Sudo, no user's power

    serve(build_app(build_server(settings, backend), settings, ready=ready), settings)


if __name__ == "__main__":
    main()
