"""FleetServer hands the SDK's runner a tool's result as a dict (fleet_core._app.wire_result), skipping one
pass over the structured content: the runner must then put exactly the same result on the wire as for
the CallToolResult itself, in every protocol era (issue 18)."""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from typing import Any

import pydantic_core
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.server.runner import _dump_result  # the runner's own first step, pinned SDK
from mcp.types import CallToolResult, ImageContent, TextContent
from mcp_types.methods import serialize_server_result
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel

from fleet_core._app import FleetServer, wire_result


class Point(BaseModel):
    x: int
    y: int | None = None


class Colour(enum.Enum):
    RED = "red"


TRICKY: dict[str, Any] = {
    "rows": [(1, "a", None), [2.5, True, 'é"\n'], (10**30, -(2**70))],
    "when": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
    "day": datetime.date(2026, 1, 2),
    "span": datetime.timedelta(seconds=90),
    "money": decimal.Decimal("12.50"),
    "id": uuid.UUID(int=7),
    "raw": b"bytes",
    "colour": Colour.RED,
    "point": Point(x=1),
    "nested": {"none": None, "tuple": (1, (2, 3)), "set": frozenset({4})},
    "nan": [float("nan"), float("inf"), -float("inf")],
    "none": None,
}

RESULTS = [
    CallToolResult(content=[TextContent(type="text", text="t")], structured_content=TRICKY),
    CallToolResult(content=[], structured_content={"rows": []}, is_error=True),
    CallToolResult(
        content=[ImageContent(type="image", data="AAAA", mime_type="image/png")],
        structured_content={"a": 1},
        _meta={"k": "v"},
    ),
    CallToolResult(content=[TextContent(type="text", text="no structured content")]),
    CallToolResult(content=[], structured_content=[1, 2]),  # any JSON value on 2026-07-28
]


@pytest.mark.parametrize("version", [*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS])
@pytest.mark.parametrize("result", RESULTS, ids=["tricky", "error", "image-meta", "text-only", "list"])
def test_the_runner_puts_the_same_result_on_the_wire(result: CallToolResult, version: str) -> None:
    def wire(handler_result: Any) -> bytes | str:
        try:
            dumped = serialize_server_result("tools/call", version, _dump_result(handler_result))
        except ValueError as exc:  # e.g. a list as structured content before 2026-07-28: refused both ways
            return type(exc).__name__
        return pydantic_core.to_json(dumped)  # bytes: NaN compares equal to itself here

    assert wire(wire_result(result)) == wire(result)


def test_only_structured_call_tool_results_are_rewritten() -> None:
    text_only = RESULTS[3]
    assert wire_result(text_only) is text_only


async def test_a_tool_answers_the_same_through_the_sdk_and_the_fleet_server() -> None:
    def build(server: MCPServer) -> MCPServer:
        @server.tool()
        async def tricky() -> CallToolResult:
            return RESULTS[0]

        @server.tool()
        async def point() -> Point:
            return Point(x=3)

        return server

    answers = []
    for server in (MCPServer("same"), FleetServer("same")):
        async with Client(build(server)) as client:
            answers.append(
                [(await client.call_tool(name, {})).model_dump_json() for name in ("tricky", "point")]
            )
    assert answers[0] == answers[1]
