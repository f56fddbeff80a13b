"""My test of error kinds and the audit line (workshop chapter 09): the caller's mistake, a backend that
is down and a refused call are three kinds, each with its audit outcome, and no line holds an argument."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx2
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult

from fleet_core.testing import (
    MCP_HEADERS,
    TEST_SECRET,
    call_body,
    capture_audit,
    identity,
    identity_headers,
    serve_server,
    text_of,
)
from fleet_notes.fake import FakeNotes
from fleet_notes.settings import NotesSettings

Call = Callable[..., Awaitable[CallToolResult]]  # the `call` fixture (conftest.py)


# --8<-- [start:errors]
async def test_a_mistake_and_an_outage_are_told_apart(call: Call, fake: FakeNotes) -> None:
    with capture_audit() as audit:
        mistake = await call("add_note", {"title": "milk\nand eggs"})
        fake.outage = True
        down = await call("add_note", {"title": "milk"})
    assert mistake.is_error
    assert "title is one line" in text_of(mistake)  # the caller's mistake: they can fix it
    assert down.is_error
    assert "try again later" in text_of(down)  # not the caller's fault: the backend's
    assert [line["outcome"] for line in audit.lines] == ["tool_error", "backend_error"]
    assert fake.requests == 1  # the mistake never reached the backend; the second call did
    assert "milk" not in "\n".join(audit.raw)  # the arguments as a digest, never as they were
    # --8<-- [end:errors]


# --8<-- [start:denied]
async def test_a_refused_call_is_audited_too(
    mcp: MCPServer, settings: NotesSettings, fake: FakeNotes
) -> None:
    bob = identity("bob", "notes:read", audience=settings.public_url)
    headers = MCP_HEADERS | identity_headers(bob) | {"X-MCP-Gateway-Secret": TEST_SECRET}
    with capture_audit() as audit:
        async with serve_server(mcp, settings) as url, httpx2.AsyncClient() as http:
            await http.post(url, json=call_body("delete_note", {"note_id": 1}), headers=headers)
    [line] = audit.lines
    assert (line["outcome"], line["subject"], line["tool"]) == ("denied", "bob", "delete_note")
    assert fake.requests == 0
    # --8<-- [end:denied]
