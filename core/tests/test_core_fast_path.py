"""The fast path (fleet_core._fast) answers exactly what the SDK's session manager answers (issue 18).

Every request shape of fleet_core.testing.differential, and a call to each tool of a server whose tools
return every kind of result (text, structured, a tool error, an unexpected exception, a JSON-RPC
error, a sync tool, a tool that needs write), go through both paths; the responses must be identical.
Each real server runs the same comparison on its fake backend (the contract's `fast_path_identical`),
and client/tests/test_client_conformance.py runs the conformance suite through both.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from mcp import Client
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, Field

from fleet_core import WRITE, ToolError, create_server, requires
from fleet_core.testing import TEST_SECRET, call_body, identity, identity_headers, settings_for
from fleet_core.testing.differential import (
    LEGACY,
    BothPaths,
    Exchange,
    request_shapes,
)

SETTINGS = settings_for(name="fast")


class Point(BaseModel):
    x: int = Field(description="x")
    y: int = Field(description="y")


def _build_server() -> MCPServer:
    mcp = create_server("fast")

    @mcp.tool(meta=requires("fast:read"))
    async def echo(text: Annotated[str, Field(description="text")], times: int = 1) -> str:
        """Echo."""
        return text * times

    @mcp.tool(meta=requires("fast:read"))
    def sync_point(x: int, y: int) -> Point:
        """A sync tool with a structured result."""
        return Point(x=x, y=y)

    @mcp.tool(meta=requires("fast:read"))
    async def refuse(ctx: Context[Any, Any]) -> str:
        """A tool error."""
        raise ToolError("no, and here is why")

    @mcp.tool(meta=requires("fast:read"))
    async def crash() -> str:
        """An unexpected exception."""
        raise RuntimeError("secret detail")

    @mcp.tool(meta=requires("fast:read"))
    async def rpc_error() -> str:
        """A JSON-RPC error."""
        raise MCPError(code=-32001, message="custom")

    @mcp.tool(meta=requires("fast:read"))
    async def headers(ctx: Context[Any, Any]) -> dict[str, str]:
        """What the tool sees of the request."""
        request = ctx.request_context.request
        assert request is not None
        return {"subject": request.headers.get("x-mcp-subject", ""), "path": request.url.path}

    @mcp.tool(meta=requires("fast:write"), annotations=WRITE)
    async def change() -> str:
        """Needs write."""
        return "changed"

    return mcp


@contextlib.asynccontextmanager
async def build() -> AsyncIterator[MCPServer]:
    yield _build_server()


def _front_door(scopes: str = "fast:read fast:write") -> dict[str, str]:
    who = identity("alice", scopes, audience=SETTINGS.public_url, token_id="t-1")
    return identity_headers(who) | {"X-MCP-Gateway-Secret": TEST_SECRET}


async def test_every_request_shape_and_tool_gets_the_sdks_answer() -> None:
    async with Client(_build_server()) as client:
        tools = (await client.list_tools()).tools
    shapes = request_shapes(_front_door(), tools)
    async with BothPaths(build, SETTINGS) as both:
        statuses = {(await both.exchange(shape)).status for shape in shapes}
    assert both.compared == len(shapes) > 120
    # the shapes reach the SDK's refusals, not only its answers
    assert {200, 202, 400, 405, 406, 421}.issubset(statuses), statuses


async def test_the_arguments_and_errors_of_a_call_come_back_the_same() -> None:
    calls = [
        call_body("echo", {"text": "hi", "times": 3}),
        call_body("echo", {"text": 5}),  # wrong type: the SDK's validation error
        call_body("echo", {}),  # missing argument
        call_body("echo", {"text": "hi", "tiems": 2}),  # misspelt: the core's argument check
        call_body("sync_point", {"x": 1, "y": 2}),
        call_body("headers"),
        call_body("crash"),
        call_body("rpc_error"),
        {"jsonrpc": "2.0", "id": None, "method": "ping"},
        {"jsonrpc": "2.0", "id": 1.5, "method": "ping"},
        {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "echo", "arguments": [1]}},
    ]
    async with BothPaths(build, SETTINGS) as both:
        for era in (LEGACY, None):
            for call in calls:
                headers = [("host", "127.0.0.1:8000"), ("accept", "application/json"), *_front_door().items()]
                headers += [("content-type", "application/json")]
                if era:
                    headers.append(("mcp-protocol-version", era))
                body = json.dumps(call).encode()
                await both.exchange(Exchange("POST", "/mcp", tuple(headers), body, label=str(call)))


async def test_the_gate_still_refuses_before_either_path() -> None:
    # a read-only caller: the write tool is a 403 step-up on both paths, from the gate
    shapes = [s for s in request_shapes(_front_door("fast:read"), ["change"]) if "change" in s.label]
    async with BothPaths(build, SETTINGS) as both:
        for shape in shapes:
            response = await both.exchange(shape)
            assert response.status == 403, response
