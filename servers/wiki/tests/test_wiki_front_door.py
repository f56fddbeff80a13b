"""Through the real front door (dev authorization server + dev gateway + real tokens) to the real wiki:
the 403 step-up for a read-only token, and a write token's edits attributed in the page history."""

from __future__ import annotations

import uuid
from pathlib import Path

import anyio
import httpx2

from fleet_core import build_app
from fleet_core.testing import MCP_HEADERS, call_body
from fleet_frontdoor.testing import front_door
from fleet_wiki.backend import MediaWikiClient
from fleet_wiki.embedded import EmbeddedWiki
from fleet_wiki.server import build_server
from fleet_wiki.settings import WikiSettings


async def test_front_door_step_up_and_attributed_edits(tmp_path: Path, wiki: EmbeddedWiki) -> None:
    title = f"Front door {uuid.uuid4().hex[:8]}"
    with anyio.fail_after(60):
        async with front_door(tmp_path, ["wiki"]) as fd:
            settings = WikiSettings.model_validate(
                fd.server_settings("wiki")
                | {"url": wiki.url, "bot_username": wiki.bot_username, "bot_password": wiki.bot_password}
            )
            async with (
                MediaWikiClient(wiki.url, wiki.bot_username, wiki.bot_password) as backend,
                fd.upstream("wiki", build_app(build_server(settings, backend), settings)),
            ):
                bob_read = await fd.token("bob", "wiki:read")
                alice_write = await fd.token("alice", "wiki:read wiki:write")
                async with fd.connect("wiki", bob_read) as mcp:
                    read = await mcp.call_tool("get_page", {"title": "Onboarding"})
                async with httpx2.AsyncClient(timeout=10) as http:
                    refused = await http.post(
                        fd.resource("wiki"),
                        json=call_body("create_page", {"title": title, "text": "bob was here"}),
                        headers=MCP_HEADERS | {"Authorization": f"Bearer {bob_read}"},
                    )
                async with fd.connect("wiki", alice_write) as mcp:
                    created = await mcp.call_tool(
                        "create_page", {"title": title, "text": "v1", "summary": "new"}
                    )
                    assert not created.is_error, created.content
                    rev = created.structured_content["revision_id"]
                    edit = {"title": title, "text": "v2", "base_revision_id": rev, "summary": "fix"}
                    edited = await mcp.call_tool("edit_page", edit)
                    history = await mcp.call_tool("get_page_history", {"title": title})
    assert not read.is_error
    assert refused.status_code == 403
    assert 'scope="wiki:read wiki:write"' in refused.headers["www-authenticate"]
    assert not edited.is_error, edited.content
    comments = [r["comment"] for r in history.structured_content["revisions"]]
    assert comments == ["fix (for alice via fleet-wiki)", "new (for alice via fleet-wiki)"]
