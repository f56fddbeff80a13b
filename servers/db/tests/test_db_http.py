"""The real MCP path over HTTP: trust gate → scope gate → tool → PostgreSQL as the caller (RLS)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx2
import psycopg
import pytest

from fleet_core import build_app
from fleet_core.testing import (
    MCP_HEADERS,
    TEST_SECRET,
    call_body,
    connect,
    identity,
    identity_headers,
    in_own_task,
    running_app,
)
from fleet_db import build_server
from fleet_db.backend import Database
from fleet_db.settings import DbSettings

AUD = "http://127.0.0.1:8700/mcp/db"
MINE = "SELECT owner, team, title FROM demo.tickets ORDER BY id"


@pytest.fixture
async def url(settings: DbSettings, database: Database) -> AsyncIterator[str]:
    app = build_app(build_server(settings, database), settings, ready=database.ready)
    async with in_own_task(running_app(app)) as base:
        yield base + settings.path


async def call(url: str, subject: str, scopes: str, tool: str, args: dict[str, Any]) -> Any:
    with anyio.fail_after(20):
        async with connect(url, identity=identity(subject, scopes, audience=AUD)) as client:
            return await client.call_tool(tool, args)


async def test_alice_and_bob_get_different_answers_to_the_same_query(
    url: str, admin: psycopg.Connection[Any]
) -> None:
    alice = await call(url, "alice", "db:read", "run_query", {"sql": MINE})
    bob = await call(url, "bob", "db:read", "run_query", {"sql": MINE})
    assert {row[1] for row in alice.structured_content["rows"]} == {"platform"}
    assert {row[1] for row in bob.structured_content["rows"]} == {"payments"}
    assert len(alice.structured_content["rows"]) == len(bob.structured_content["rows"]) == 4
    assert admin.execute("SELECT count(*) FROM demo.tickets").fetchone() == (8,)


async def test_a_stranger_sees_no_tickets(url: str) -> None:
    result = await call(url, "eve", "db:read", "run_query", {"sql": MINE})
    assert result.structured_content["rows"] == []


async def test_rls_applies_through_views_and_explain(url: str) -> None:
    result = await call(
        url, "bob", "db:read", "run_query", {"sql": "SELECT DISTINCT team FROM demo.open_tickets"}
    )
    assert result.structured_content["rows"] == [["payments"]]


async def test_claims_are_visible_to_sql_as_json(url: str) -> None:
    result = await call(
        url, "bob", "db:read", "run_query", {"sql": "SELECT current_setting('fleet.claims')::jsonb ->> 'sub'"}
    )
    assert result.structured_content["rows"] == [["bob"]]


async def test_read_only_caller_calling_the_write_tool_gets_the_403_step_up(
    url: str, admin: psycopg.Connection[Any]
) -> None:
    headers = MCP_HEADERS | identity_headers(identity("bob", "db:read", audience=AUD))
    headers["X-MCP-Gateway-Secret"] = TEST_SECRET
    body = call_body("execute_statement", {"sql": "DELETE FROM demo.tickets"})
    with anyio.fail_after(10):
        async with httpx2.AsyncClient() as http:
            response = await http.post(url, json=body, headers=headers)
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert "db:write" in challenge
    assert admin.execute("SELECT count(*) FROM demo.tickets").fetchone() == (8,)


async def test_a_writers_write_lands_and_is_attributed(url: str, admin: psycopg.Connection[Any]) -> None:
    result = await call(
        url,
        "alice",
        "db:read db:write",
        "execute_statement",
        {
            "sql": "INSERT INTO demo.tickets (title, team) VALUES ($1, $2) RETURNING id, owner, updated_by",
            "params": ["Rotate TLS certificates", "platform"],
        },
    )
    assert not result.is_error, result.content
    new_id, owner, updated_by = result.structured_content["rows"][0]
    assert (owner, updated_by) == ("alice", "alice")
    row = admin.execute(
        "SELECT title, owner, updated_by FROM demo.tickets WHERE id = %s", [new_id]
    ).fetchone()
    assert row == ("Rotate TLS certificates", "alice", "alice")
    # bob's team cannot see it; alice's teammate carol can
    bob = await call(
        url,
        "bob",
        "db:read",
        "run_query",
        {"sql": "SELECT id FROM demo.tickets WHERE id = $1", "params": [new_id]},
    )
    carol = await call(
        url,
        "carol",
        "db:read",
        "run_query",
        {"sql": "SELECT id FROM demo.tickets WHERE id = $1", "params": [new_id]},
    )
    assert bob.structured_content["rows"] == []
    assert carol.structured_content["rows"] == [[new_id]]


async def test_readyz_checks_the_database(url: str) -> None:
    async with httpx2.AsyncClient() as http:
        response = await http.get(url.removesuffix("/mcp") + "/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True}


async def test_an_authgate_token_puts_the_username_in_fleet_subject(
    make_settings: Callable[..., DbSettings], database: Database
) -> None:
    """jwt trust mode, AuthGate-shaped token: RLS sees `extra_uid` (the username) in fleet.subject, the
    UUID `sub` stays in fleet.claims; a token without the username claim runs no SQL at all."""
    from fleet_core import TrustMode, dev_subject
    from fleet_core.testing import JwtIssuer

    sql = "SELECT current_setting('fleet.subject'), current_setting('fleet.claims')::jsonb ->> 'sub'"
    async with JwtIssuer() as issuer:
        settings = make_settings(trust_mode=TrustMode.JWT, issuer=issuer.url)
        app = build_app(build_server(settings, database), settings, ready=database.ready)
        bob = issuer.mint(
            AUD, scope="db:read", sub=dev_subject("bob"), user_id=dev_subject("bob"), extra_uid="bob"
        )
        bare = issuer.mint(AUD, scope="db:read", extra_uid=None)
        with anyio.fail_after(20):
            async with running_app(app) as base:
                async with connect(base + settings.path, token=bob, secret=None) as client:
                    who = await client.call_tool("run_query", {"sql": sql})
                    rows = await client.call_tool("run_query", {"sql": MINE})
                async with connect(base + settings.path, token=bare, secret=None) as client:
                    refused = await client.call_tool("run_query", {"sql": "SELECT 1"})
    assert who.structured_content["rows"] == [["bob", dev_subject("bob")]]
    assert {row[1] for row in rows.structured_content["rows"]} == {"payments"}  # bob's RLS rows
    assert refused.is_error
    assert "has no database account name" in refused.content[0].model_dump()["text"]


async def test_finding4_one_callers_slow_queries_cannot_take_every_connection(
    make_settings: Callable[..., DbSettings], db_url: str
) -> None:
    # the attack: 30 parallel pg_sleep calls from bob against a 10-connection pool; alice must still
    # be answered (before: "database unavailable" after the pool's 10 s wait)
    settings = make_settings(pool_min_size=2, pool_max_size=10, statement_timeout_ms=20000)
    db = Database(settings, db_url)
    await db.open()
    app = build_app(build_server(settings, db), settings, ready=db.ready)

    def headers(subject: str) -> dict[str, str]:
        who = identity(subject, "db:read", audience=AUD)
        return MCP_HEADERS | identity_headers(who) | {"X-MCP-Gateway-Secret": TEST_SECRET}

    sleep = call_body("run_query", {"sql": "SELECT pg_sleep(3)"})
    try:
        async with running_app(app) as base, httpx2.AsyncClient(timeout=30) as http:
            url = base + settings.path
            statuses: list[int] = []
            refused = anyio.Event()

            async def bob() -> None:
                statuses.append((await http.post(url, json=sleep, headers=headers("bob"))).status_code)
                if statuses.count(429) == 30 - settings.max_concurrent_calls:
                    refused.set()

            with anyio.fail_after(30):
                async with anyio.create_task_group() as tg:
                    for _ in range(30):
                        tg.start_soon(bob)
                    await refused.wait()  # bob's extra calls were refused at once, not queued
                    with anyio.fail_after(1):  # bob's four are still sleeping on their connections
                        alice = await http.post(
                            url, json=call_body("run_query", {"sql": "SELECT 1"}), headers=headers("alice")
                        )
                    assert alice.status_code == 200
                    assert alice.json()["result"]["structuredContent"]["rows"] == [[1]]
                    assert 200 not in statuses  # bob's four are still running
        assert sorted(statuses) == [200] * settings.max_concurrent_calls + [429] * 26
    finally:
        await db.close()
