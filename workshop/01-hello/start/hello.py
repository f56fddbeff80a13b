"""Chapter 01: your first MCP server. Follow workshop/01-hello/README.md.

uv run python workshop/work/hello.py
"""

from __future__ import annotations

import anyio
from mcp import Client
from mcp.server.mcpserver import MCPServer


def build_server() -> MCPServer:
    mcp = MCPServer("hello", log_level="WARNING")
    # TODO: add a `greet` tool here (see the README)
    return mcp


async def main() -> None:
    async with Client(build_server()) as client:
        tools = await client.list_tools()
        print("tools:", [tool.name for tool in tools.tools])
        # TODO: call `greet` with name="Ada" and print what it answers


if __name__ == "__main__":
    anyio.run(main)
