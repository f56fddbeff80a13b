"""A `tools/call` names a tool this server has and only arguments that tool takes.

The SDK drops argument names a tool does not declare, so a misspelled optional argument
(`limt=5`) silently runs the call with the default instead. Refused here, with the valid names;
an unknown tool is answered with the list of this server's tools.
"""

from __future__ import annotations

from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent

__all__ = ["ArgumentCheck"]


def _refusal(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


class ArgumentCheck:
    """SDK ServerMiddleware: refuse an unknown tool or unknown argument names, saying what exists."""

    def __init__(self, mcp: MCPServer) -> None:
        self.mcp = mcp

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call" or not isinstance(ctx.params, dict):
            return await call_next(ctx)
        name, arguments = ctx.params.get("name"), ctx.params.get("arguments")
        if not isinstance(name, str):
            return await call_next(ctx)
        tool = self.mcp._tool_manager.get_tool(name)
        if tool is None:
            known = ", ".join(sorted(t.name for t in self.mcp._tool_manager.list_tools()))
            return _refusal(
                f"Unknown tool: {name}. The {self.mcp.name} tools are: {known} "
                f"(fleet-client: `tools {self.mcp.name}` lists them with their scopes)"
            )
        schema = tool.parameters
        if not isinstance(arguments, dict) or schema.get("additionalProperties") is True:
            return await call_next(ctx)
        valid = list((schema.get("properties") or {}).keys())
        unknown = sorted(key for key in arguments if key not in valid)
        if unknown:
            names = ", ".join(repr(key) for key in unknown)
            takes = ", ".join(valid) if valid else "no arguments"
            return _refusal(f"{name}: unknown argument {names}; {name} takes: {takes}")
        return await call_next(ctx)
