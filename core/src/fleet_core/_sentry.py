"""Report the server's own errors to Sentry when SENTRY_DSN is set: no tokens, no raw arguments."""

from __future__ import annotations

from typing import Any

import sentry_sdk
from mcp.server.mcpserver import MCPServer
from sentry_sdk.integrations import mcp as sentry_mcp
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["init_sentry", "isolated"]

OFF: Any = {"mode": "off"}


def init_sentry(dsn: str, *, mcp: MCPServer) -> None:
    # --8<-- [start:init]
    sentry_sdk.init(
        dsn=dsn,
        server_name=f"fleet-{mcp.name}",
        integrations=[sentry_mcp.MCPIntegration()],
        # Nothing the caller sent leaves the process: no headers (the gateway secret, identity), no
        # bodies, no tool inputs/outputs, no frame locals (they hold tool arguments).
        data_collection={
            "user_info": False,
            "cookies": OFF,
            "http_headers": {"request": OFF},
            "http_bodies": [],
            "url_query_params": OFF,
            "gen_ai": {"inputs": False, "outputs": False},
            "stack_frame_variables": False,
        },
        include_local_variables=False,
        traces_sample_rate=0.0,
    )
    # --8<-- [end:init]
    sentry_sdk.set_tag("fleet.server", mcp.name)
    # The integration instruments servers created after init; ours already exists, so attach its
    # middleware directly (falls back to the audit middleware's tags if the SDK renames it).
    middleware = getattr(sentry_mcp, "_sentry_middleware", None)
    if middleware is not None and middleware not in mcp.middleware:
        mcp.middleware.append(middleware)


def isolated(app: ASGIApp) -> ASGIApp:
    """Each request in its own Sentry isolation scope. The tags and user a call sets (the audit
    middleware's) live on the isolation scope; without a fork per request every request shares one,
    so an event from bob's request could carry alice's user and tool from the request before."""

    async def each_request_isolated(scope: Scope, receive: Receive, send: Send) -> None:
        with sentry_sdk.isolation_scope():
            await app(scope, receive, send)

    return each_request_isolated
