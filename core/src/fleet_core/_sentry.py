"""Report the server's own errors to Sentry when SENTRY_DSN is set: no tokens, no raw arguments."""

from __future__ import annotations

from typing import Any

import sentry_sdk
from mcp.server.mcpserver import MCPServer
from sentry_sdk.integrations import mcp as sentry_mcp

__all__ = ["init_sentry"]

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
