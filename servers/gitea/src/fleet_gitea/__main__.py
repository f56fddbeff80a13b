"""`fleet-gitea`: serve the Gitea MCP server over stateless Streamable HTTP (FLEET_GITEA_* settings).

`fleet-gitea --stdio` serves one local user over stdio instead: there is no front door, so the
identity is explicit — FLEET_GITEA_STDIO_USER (the Gitea username to act as) and
FLEET_GITEA_STDIO_SCOPES (default "gitea:read"; add "gitea:write" to allow writes).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from fleet_core import Identity, build_app, run_stdio, serve

from .gitea import GiteaClient
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


def _stdio() -> None:
    user = os.environ.get("FLEET_GITEA_STDIO_USER", "")
    if not user:
        sys.exit("fleet-gitea --stdio: set FLEET_GITEA_STDIO_USER (the Gitea user to act as)")
    # No gateway in front of stdio: the HTTP trust settings don't apply, so don't demand them.
    settings = GiteaSettings(trust_mode="insecure-dev", host="127.0.0.1")
    who = Identity(
        subject=user,
        scopes=frozenset(os.environ.get("FLEET_GITEA_STDIO_SCOPES", "gitea:read").split()),
        issuer="local-stdio",
        audience=(),
        client_id=None,
        token_id=None,
        expires_at=datetime.now(UTC) + timedelta(days=3650),
    )
    run_stdio(build_server(settings, _client(settings)), who)


def main() -> None:
    try:
        if "--stdio" in sys.argv[1:]:
            _stdio()
            return
        settings = GiteaSettings()
    except ValidationError as exc:
        sys.exit(f"fleet-gitea: invalid settings:\n{exc}")
    backend = _client(settings)

    async def ready() -> None:
        await backend.version()  # service token only: no Sudo, no user's power

    serve(build_app(build_server(settings, backend), settings, ready=ready), settings)


if __name__ == "__main__":
    main()
