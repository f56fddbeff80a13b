"""My first test of the notes server (workshop chapter 06): a note belongs to the caller who added it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mcp.types import CallToolResult

Call = Callable[..., Awaitable[CallToolResult]]  # the `call` fixture of conftest.py


# --8<-- [start:test]
async def test_a_note_is_seen_by_its_owner_only(call: Call) -> None:
    added = await call("add_note", {"title": "buy milk"}, subject="alice")
    assert not added.is_error
    mine = await call("list_notes", {}, subject="alice", write=False)
    theirs = await call("list_notes", {}, subject="bob", write=False)
    assert mine.structured_content == {
        "account": "alice",
        "notes": [{"id": 1, "title": "buy milk", "owner": "alice"}],
        "truncated": False,
    }
    assert theirs.structured_content == {"account": "bob", "notes": [], "truncated": False}


# --8<-- [end:test]
