from __future__ import annotations

from typing import Any

import pytest
from mcp.server.mcpserver import Context, MCPServer

from fleet_core import WRITE, create_server, requires


@pytest.fixture
def ran() -> list[str]:
    """Names of tools that actually executed: a refused request must leave this empty."""
    return []


@pytest.fixture
def server(ran: list[str]) -> MCPServer:
    mcp = create_server("test")

    @mcp.tool(meta=requires("test:read"))
    async def echo(text: str, ctx: Context[Any, Any]) -> str:
        """Echo the text."""
        ran.append("echo")
        return text

    @mcp.tool(meta=requires("test:write"), annotations=WRITE)
    async def change(ctx: Context[Any, Any]) -> str:
        """Pretend to change something."""
        ran.append("change")
        return "changed"

    return mcp
