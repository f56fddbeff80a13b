"""A misspelled argument name or tool name is refused with what exists, not silently ignored."""

from __future__ import annotations

from typing import Annotated

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from pydantic import Field

from fleet_core import READ_ONLY, create_server, requires
from fleet_core.testing import acting_as, identity, text_of


@pytest.fixture
def shelf() -> tuple[MCPServer, list[int]]:
    mcp = create_server("shelf")
    seen: list[int] = []

    @mcp.tool(meta=requires("shelf:read"), annotations=READ_ONLY)
    async def list_books(
        limit: Annotated[int, Field(ge=1, description="Most books")] = 10,
        author: Annotated[str | None, Field(description="Only this author")] = None,
    ) -> list[str]:
        """List books."""
        seen.append(limit)
        return ["a book"]

    return mcp, seen


async def test_an_unknown_argument_name_is_refused_with_the_valid_ones(
    shelf: tuple[MCPServer, list[int]],
) -> None:
    mcp, seen = shelf
    with anyio.fail_after(10), acting_as(identity("bob", "shelf:read", audience="stdio")):
        async with Client(mcp) as client:
            refused = await client.call_tool("list_books", {"limt": 5})
            allowed = await client.call_tool("list_books", {"limit": 5, "author": "x"})
    assert refused.is_error
    assert text_of(refused) == "list_books: unknown argument 'limt'; list_books takes: limit, author"
    assert seen == [5]  # only the well-formed call ran
    assert not allowed.is_error


async def test_an_unknown_tool_is_answered_with_the_server_s_tools(
    shelf: tuple[MCPServer, list[int]],
) -> None:
    mcp, _ = shelf
    with anyio.fail_after(10), acting_as(identity("bob", "shelf:read", audience="stdio")):
        async with Client(mcp) as client:
            refused = await client.call_tool("list_book", {})
            whoami = await client.call_tool("whoami", {"extra": 1})
    assert refused.is_error
    assert text_of(refused) == (
        "Unknown tool: list_book. The shelf tools are: list_books, whoami "
        "(fleet-client: `tools shelf` lists them with their scopes)"
    )
    assert whoami.is_error
    assert text_of(whoami) == "whoami: unknown argument 'extra'; whoami takes: no arguments"
