"""My test of the write tool (workshop chapter 07): a reader who calls delete_note is asked, over HTTP, to
step up, before anything reaches the backend."""

from __future__ import annotations

import httpx2
from mcp.server.mcpserver import MCPServer

from fleet_core.testing import MCP_HEADERS, TEST_SECRET, call_body, identity, identity_headers, serve_server
from fleet_notes.fake import FakeNotes
from fleet_notes.settings import NotesSettings


# --8<-- [start:test]
async def test_a_reader_deleting_is_asked_to_step_up(
    mcp: MCPServer, settings: NotesSettings, fake: FakeNotes
) -> None:
    bob = identity("bob", "notes:read", audience=settings.public_url)
    headers = MCP_HEADERS | identity_headers(bob) | {"X-MCP-Gateway-Secret": TEST_SECRET}
    async with serve_server(mcp, settings) as url, httpx2.AsyncClient() as http:
        response = await http.post(url, json=call_body("delete_note", {"note_id": 1}), headers=headers)
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="notes:read notes:write"' in challenge  # what bob has, plus what delete_note needs
    assert fake.requests == 0  # refused at the gate: the backend never heard of it


# --8<-- [end:test]
