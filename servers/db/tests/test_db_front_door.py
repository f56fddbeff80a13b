"""Through the real front door (dev authorization server + dev gateway + real tokens) to PostgreSQL:
row-level security per token subject, the 403 step-up for a read-only token, an attributed write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx2
import psycopg

from fleet_core import build_app
from fleet_core.testing import MCP_HEADERS, call_body
from fleet_db import build_server
from fleet_db.backend import Database
from fleet_db.settings import DbSettings
from fleet_frontdoor.testing import front_door

TEAMS = "SELECT DISTINCT team FROM demo.tickets"


async def test_front_door_rls_step_up_and_attributed_write(
    tmp_path: Path, database: Database, admin: psycopg.Connection[Any]
) -> None:
    with anyio.fail_after(60):
        async with front_door(tmp_path, ["db"]) as fd:
            settings = DbSettings.model_validate(fd.server_settings("db"))
            async with fd.upstream("db", build_app(build_server(settings, database), settings)):
                alice_read = await fd.token("alice", "db:read")
                bob_read = await fd.token("bob", "db:read")
                alice_write = await fd.token("alice", "db:read db:write")
                async with fd.connect("db", alice_read) as mcp:
                    alice = await mcp.call_tool("run_query", {"sql": TEAMS})
                async with fd.connect("db", bob_read) as mcp:
                    bob = await mcp.call_tool("run_query", {"sql": TEAMS})
                async with httpx2.AsyncClient(timeout=10) as http:
                    refused = await http.post(
                        fd.resource("db"),
                        json=call_body("execute_statement", {"sql": "DELETE FROM demo.tickets"}),
                        headers=MCP_HEADERS | {"Authorization": f"Bearer {bob_read}"},
                    )
                async with fd.connect("db", alice_write) as mcp:
                    close = "UPDATE demo.tickets SET status = 'closed' WHERE id = $1 RETURNING updated_by"
                    written = await mcp.call_tool("execute_statement", {"sql": close, "params": [3]})
    assert alice.structured_content["rows"] == [["platform"]]
    assert bob.structured_content["rows"] == [["payments"]]
    assert refused.status_code == 403
    assert 'scope="db:read db:write"' in refused.headers["www-authenticate"]
    assert admin.execute("SELECT count(*) FROM demo.tickets").fetchone() == (8,)
    assert not written.is_error, written.content
    assert written.structured_content["rows"] == [["alice"]]
    assert admin.execute("SELECT status, updated_by FROM demo.tickets WHERE id = 3").fetchone() == (
        "closed",
        "alice",
    )
