"""The example server the core README shows works as the README says."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from mcp import MCPError

from fleet_core.testing import TEST_SECRET, connect, identity, in_own_task, serve_server, text_of

spec = importlib.util.spec_from_file_location(
    "notes_example", Path(__file__).parents[1] / "examples" / "notes.py"
)
assert spec is not None
assert spec.loader is not None
notes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(notes)


async def test_the_example_notes_server_acts_as_the_caller() -> None:
    settings = notes.NotesSettings(
        public_url="http://127.0.0.1:8700/mcp/notes",
        gateway_secrets="test-gateway-secret-0123456789",
        max_notes=1,
    )
    store: dict[str, list[str]] = {}
    alice = identity("alice", "notes:read notes:write", audience=settings.public_url)
    bob = identity("bob", "notes:read", audience=settings.public_url)
    with anyio.fail_after(20):
        async with serve_server(notes.build_server(settings, store), settings) as url:
            async with connect(url, identity=alice) as client:
                added = await client.call_tool("add_note", {"text": "hi"})
                full = await client.call_tool("add_note", {"text": "again"})
            async with connect(url, identity=bob) as client:
                theirs = await client.call_tool("list_notes", {})
                with pytest.raises(MCPError):  # bob lacks notes:write: HTTP 403 before the tool
                    await client.call_tool("add_note", {"text": "x"})
    assert added.structured_content == {"owner": "alice", "notes": ["hi"]}
    assert full.is_error
    assert "already have 1 notes" in text_of(full)
    assert theirs.structured_content == {"owner": "bob", "notes": []}
    assert store == {"alice": ["hi"]}


# The async test style the core README shows (pytest-asyncio, auto mode: no marker).
AUDIENCE = "http://127.0.0.1:8700/mcp/notes"


# --8<-- [start:fixture]
@pytest.fixture
async def url() -> AsyncIterator[str]:
    settings = notes.NotesSettings(public_url=AUDIENCE, gateway_secrets=TEST_SECRET)
    async with in_own_task(serve_server(notes.build_server(settings, {}), settings)) as mcp_url:
        yield mcp_url


# --8<-- [end:fixture]


# --8<-- [start:test]
async def test_a_reader_lists_their_own_notes(url: str) -> None:
    bob = identity("bob", "notes:read", audience=AUDIENCE)
    async with connect(url, identity=bob) as client:
        with anyio.fail_after(20):
            result = await client.call_tool("list_notes", {})
    assert result.structured_content == {"owner": "bob", "notes": []}


# --8<-- [end:test]
