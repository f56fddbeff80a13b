"""Chapter 01: your first MCP server. Follow workshop/01-hello/README.md.

uv run python workshop/work/hello.py
"""

from __future__ import annotations

from typing import Annotated

import anyio
from mcp import Client
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field


# --8<-- [start:server]
class Greeting(BaseModel):
    message: str


def build_server() -> MCPServer:
    mcp = MCPServer("hello", log_level="WARNING")

    @mcp.tool()
    async def greet(name: Annotated[str, Field(description="who to greet")]) -> Greeting:
        """Say hello to someone."""
        return Greeting(message=f"Hello, {name}!")

    return mcp


# --8<-- [end:server]


async def main() -> None:
    # --8<-- [start:client]
    async with Client(build_server()) as client:
        tools = await client.list_tools()
        print("tools:", [tool.name for tool in tools.tools])
        result = await client.call_tool("greet", {"name": "Ada"})
        print("greet:", result.structured_content)
    # --8<-- [end:client]


if __name__ == "__main__":
    anyio.run(main)
