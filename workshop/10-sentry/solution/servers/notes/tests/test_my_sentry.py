"""My test of error monitoring (workshop chapter 10): an unexpected failure in a notes tool reaches Sentry
labelled with the server, the tool and the caller, and without the call's arguments."""

from __future__ import annotations

from typing import NoReturn

import pytest
from mcp.server.mcpserver import MCPServer

from fleet_core.testing import TEST_SECRET, connect, identity, sentry_capture, serve_server
from fleet_notes.backend import NotesClient
from fleet_notes.settings import NotesSettings

PRIVATE = "call the bank about the overdraft"  # what alice wrote: it must never reach Sentry


# --8<-- [start:test]
async def test_a_failing_tool_reports_to_sentry_without_its_arguments(
    mcp: MCPServer, settings: NotesSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def bug(*args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError("a bug in the notes backend client")

    monkeypatch.setattr(NotesClient, "add_note", bug)  # as if your code had it
    alice = identity("alice", "notes:read notes:write", audience=settings.public_url)
    async with sentry_capture() as sentry:
        reporting = sentry.with_dsn(settings)  # SENTRY_DSN: this test's own little Sentry
        async with serve_server(mcp, reporting) as url, connect(url, identity=alice) as client:
            result = await client.call_tool("add_note", {"title": PRIVATE})
        events = await sentry.wait_for_events()
    assert result.is_error  # alice gets a tool error that names no detail
    assert events, "no event reached Sentry"
    for event in events:
        assert event["tags"]["fleet.server"] == "notes"
        assert event["tags"]["fleet.tool"] == "add_note"
        assert event["user"]["id"] == "alice"
    sent = sentry.everything()  # every byte the SDK sent
    assert PRIVATE not in sent
    assert TEST_SECRET not in sent  # the gateway secret came with the call: it stays too


# --8<-- [end:test]
