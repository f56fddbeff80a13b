"""Tools declare the scope they need where they are defined (DESIGN §3.2)."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

__all__ = ["DESTRUCTIVE", "READ_ONLY", "SCOPE_META_KEY", "WRITE", "requires", "tool_scopes"]

SCOPE_META_KEY = "fleet/scope"

READ_ONLY = ToolAnnotations(
    readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False
)
WRITE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False)
DESTRUCTIVE = ToolAnnotations(
    readOnlyHint=False, destructiveHint=True, idempotentHint=False, openWorldHint=False
)


def requires(scope: str) -> dict[str, Any]:
    """Tool metadata naming the scope a call needs: `@mcp.tool(meta=requires("db:read"))`."""
    name, _, level = scope.partition(":")
    if not name or level not in ("read", "write"):
        raise ValueError(f"scope {scope!r} must be '<server>:read' or '<server>:write'")
    return {SCOPE_META_KEY: scope}


def tool_scopes(mcp: MCPServer) -> dict[str, str]:
    """Map every registered tool to its scope; a tool without one is a bug, refused at build time."""
    scopes: dict[str, str] = {}
    for tool in mcp._tool_manager.list_tools():
        scope = (tool.meta or {}).get(SCOPE_META_KEY)
        if not isinstance(scope, str):
            raise ValueError(f"tool {tool.name!r} declares no scope: use @mcp.tool(meta=requires('…'))")
        scopes[tool.name] = scope
    return scopes
