"""Calls that arrive without HTTP (stdio, in-memory tests) have no front door: their identity is
set explicitly by whoever runs them, and the scope rules are applied here instead of in the gate."""

from __future__ import annotations

import contextvars
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent

from ._identity import Identity
from ._scopes import LiveToolScopes

__all__ = ["LocalScopeGate", "local_identity"]

local_identity: contextvars.ContextVar[Identity | None] = contextvars.ContextVar(
    "fleet_local_identity", default=None
)


def _refusal(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


class LocalScopeGate:
    """SDK ServerMiddleware: for non-HTTP tools/call, require an explicit identity with the tool's scope."""

    def __init__(self, mcp: MCPServer) -> None:
        self.mcp = mcp
        self.scopes = LiveToolScopes(mcp)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call" or ctx.request is not None:
            return await call_next(ctx)  # HTTP requests were already checked by the gate
        who = local_identity.get()
        if who is None:
            return _refusal(
                "no caller identity: this server only serves requests that came through the front door"
            )
        name = ctx.params.get("name") if isinstance(ctx.params, dict) else None
        needed = {f"{self.mcp.name}:read"}
        if isinstance(name, str) and name in self.scopes:
            needed.add(self.scopes[name])  # a tool without a declared scope needs one nobody holds
        missing = needed - who.scopes
        if missing:
            return _refusal(f"insufficient scope: this call needs {' '.join(sorted(needed))}")
        return await call_next(ctx)
