"""Chapter 01: your first MCP server. Follow workshop/01-hello/README.md.
Chapter 02 adds `--http`: the same server over Streamable HTTP.

uv run python workshop/work/hello.py
uv run python workshop/work/hello.py --http --port 8720
"""

from __future__ import annotations

import argparse
from typing import Annotated

import anyio
import uvicorn
from mcp import Client
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field


class Greeting(BaseModel):
    message: str


def build_server() -> MCPServer:
    mcp = MCPServer("hello", log_level="WARNING")

    @mcp.tool()
    async def greet(name: Annotated[str, Field(description="who to greet")]) -> Greeting:
        """Say hello to someone."""
        return Greeting(message=f"Hello, {name}!")

    return mcp


async def main() -> None:
    async with Client(build_server()) as client:
        tools = await client.list_tools()
        print("tools:", [tool.name for tool in tools.tools])
        result = await client.call_tool("greet", {"name": "Ada"})
        print("greet:", result.structured_content)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", action="store_true", help="serve over HTTP instead of calling in memory")
    parser.add_argument("--port", type=int, default=8720)
    args = parser.parse_args()
    if args.http:
        # --8<-- [start:http]
        # stateless: every POST stands alone; json_response: a plain JSON answer, no SSE stream
        app = build_server().streamable_http_app(stateless_http=True, json_response=True)
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
        # --8<-- [end:http]
    else:
        anyio.run(main)
