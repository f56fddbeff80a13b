"""Tools declare the scope they need where they are defined (DESIGN §3.2)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

__all__ = [
    "DESTRUCTIVE",
    "READ_ONLY",
    "SCOPE_META_KEY",
    "UNDECLARED",
    "WRITE",
    "LiveToolScopes",
    "requires",
    "tool_scopes",
]

SCOPE_META_KEY = "fleet/scope"
# What a tool without a declared scope needs: a scope with a space in it, which no token can carry
# (scopes are space-separated), so nobody may call it.
UNDECLARED = "(no scope declared)"

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


class LiveToolScopes(Mapping[str, str]):
    """The scope each tool needs, read from the server on every lookup (finding 12.7).

    A tool registered after build_app is gated like the others, never waved through with only the
    server's read scope; one that declares no valid scope needs UNDECLARED, so it fails closed.
    """

    def __init__(self, mcp: MCPServer) -> None:
        self._tools = mcp._tool_manager

    def __getitem__(self, name: str) -> str:
        tool = self._tools.get_tool(name)
        if tool is None:
            raise KeyError(name)
        scope = (tool.meta or {}).get(SCOPE_META_KEY)
        return scope if isinstance(scope, str) and " " not in scope else UNDECLARED

    def __iter__(self) -> Iterator[str]:
        return iter([tool.name for tool in self._tools.list_tools()])

    def __len__(self) -> int:
        return len(self._tools.list_tools())
