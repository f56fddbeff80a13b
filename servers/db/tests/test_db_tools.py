"""Each tool against the real demo database, in memory (Client(mcp)), and the bad-input contract."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import psycopg
import pytest
from mcp import Client

from fleet_core.testing import acting_as, identity, in_own_task, text_of
from fleet_db import Database, build_server, ops
from fleet_db.backend import CallContext
from fleet_db.settings import DbSettings

AUD = "http://127.0.0.1:8700/mcp/db"


@pytest.fixture
async def client(settings: DbSettings, database: Database) -> AsyncIterator[Client]:
    with acting_as(identity("alice", "db:read db:write", audience=AUD)):
        async with in_own_task(Client(build_server(settings, database))) as c:
            yield c


async def ok(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    with anyio.fail_after(20):
        result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    return result.structured_content or {}


async def error(client: Client, tool: str, **args: Any) -> str:
    with anyio.fail_after(20):
        result = await client.call_tool(tool, args)
    assert result.is_error, result.structured_content
    return text_of(result)


async def test_tools_list_declares_scopes_and_honest_annotations(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) >= {
        "list_schemas", "list_tables", "describe_table", "run_query", "explain_query", "top_queries",
        "database_health", "execute_statement",
    }  # fmt: skip
    for name, tool in tools.items():
        write = name == "execute_statement"
        assert (tool.meta or {}).get("fleet/scope") == ("db:write" if write else "db:read")
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is (not write)
        assert tool.annotations.destructive_hint is write
        assert tool.output_schema is not None


async def test_list_schemas_shows_only_usable_schemas(client: Client, admin: psycopg.Connection[Any]) -> None:
    names = [s["name"] for s in (await ok(client, "list_schemas"))["schemas"]]
    assert "demo" in names
    assert "pg_catalog" not in names
    assert "pg_catalog" in [
        s["name"] for s in (await ok(client, "list_schemas", include_system=True))["schemas"]
    ]


async def test_list_tables_has_estimates_comments_privileges(
    client: Client, admin: psycopg.Connection[Any]
) -> None:
    admin.execute("ANALYZE demo.tickets")
    tables = {t["name"]: t for t in (await ok(client, "list_tables", schema="demo"))["tables"]}
    tickets = tables["tickets"]
    assert tickets["estimated_rows"] == 8
    assert tickets["comment"].startswith("Support tickets")
    assert tickets["privileges"] == ["SELECT", "INSERT", "UPDATE", "DELETE"]
    assert tickets["row_level_security"] is True
    assert tables["members"]["privileges"] == ["SELECT"]
    assert tables["open_tickets"]["kind"] == "view"
    assert tables["open_tickets"]["estimated_rows"] is None


async def test_describe_table_reports_columns_constraints_indexes_fks_and_policies(client: Client) -> None:
    d = await ok(client, "describe_table", schema="demo", table="tickets")
    columns = {c["name"]: c for c in d["columns"]}
    assert columns["status"]["default"] == "'open'::text"
    assert columns["id"]["type"] == "bigint"
    assert not columns["id"]["nullable"]
    assert columns["updated_by"]["comment"].startswith("The MCP caller")
    kinds = {c["type"] for c in d["constraints"]}
    assert {"primary key", "check", "foreign key"} <= kinds
    assert {i["name"] for i in d["indexes"]} >= {"tickets_pkey", "tickets_team_idx"}
    assert d["foreign_keys"] == [
        {"name": "tickets_owner_fkey", "columns": ["owner"], "references_table": "demo.members",
         "references_columns": ["subject"]}
    ]  # fmt: skip
    assert d["row_level_security"] is True
    policies = {p["name"]: p for p in d["policies"]}
    assert policies["tickets_visible"]["command"] == "SELECT"
    assert "current_subject" in policies["tickets_visible"]["using"]
    assert policies["tickets_insert"]["with_check"]


async def test_describe_unknown_table_is_a_clear_error(client: Client) -> None:
    message = await error(client, "describe_table", schema="demo", table="nope")
    assert "demo.nope does not exist or role fleet_writer may not use it" in message


async def test_the_demo_tables_are_found_without_naming_their_schema(
    client: Client, admin: psycopg.Connection[Any]
) -> None:
    everything = {(t["schema_name"], t["name"]) for t in (await ok(client, "list_tables"))["tables"]}
    assert {("demo", "tickets"), ("demo", "members"), ("demo", "open_tickets")} <= everything
    described = await ok(client, "describe_table", table="tickets")
    assert described["schema_name"] == "demo"
    assert "nope (in any schema) does not exist" in await error(client, "describe_table", table="nope")
    admin.execute("CREATE TABLE public.tickets (id int)")
    admin.execute("GRANT SELECT ON public.tickets TO fleet_writer")
    try:
        message = await error(client, "describe_table", table="tickets")
        assert "tickets is in more than one schema (demo, public): pass schema=" in message
    finally:
        admin.execute("DROP TABLE public.tickets")


async def test_run_query_binds_params_and_returns_typed_columns(client: Client) -> None:
    r = await ok(
        client,
        "run_query",
        sql="SELECT id, title, created_at, 1.50::numeric AS price, $2::jsonb AS j, ARRAY[1, 2] AS arr, "
        "gen_random_uuid() IS NOT NULL AS ok FROM demo.tickets WHERE owner = $1 ORDER BY id",
        params=["alice", '{"a": [1, 2]}'],
    )
    assert [(c["name"], c["type"]) for c in r["columns"]] == [
        ("id", "int8"), ("title", "text"), ("created_at", "timestamptz"), ("price", "numeric"),
        ("j", "jsonb"), ("arr", "int4[]"), ("ok", "bool"),
    ]  # fmt: skip
    first = r["rows"][0]
    assert first[0] == 1
    assert first[1] == "Rotate the gateway signing key"
    assert isinstance(first[2], str)
    assert first[3] == "1.50"
    assert first[4] == {"a": [1, 2]}
    assert first[5:] == [[1, 2], True]
    assert r["row_count"] == 2
    assert r["truncated"] is False
    assert r["role"] == "fleet_writer"


async def test_percent_signs_and_quotes_are_just_sql(client: Client) -> None:
    r = await ok(client, "run_query", sql="SELECT '50%' AS p, $1::text AS q", params=["it's %s"])
    assert r["rows"] == [["50%", "it's %s"]]


async def test_row_cap_truncates_explicitly(client: Client, settings: DbSettings) -> None:
    r = await ok(client, "run_query", sql="SELECT g FROM generate_series(1, 5000) g")
    assert r["row_count"] == settings.max_rows == 1000
    assert r["truncated"] is True
    assert r["truncated_reason"] == "max_rows"


async def test_byte_cap_truncates_huge_rows(client: Client, settings: DbSettings) -> None:
    r = await ok(client, "run_query", sql="SELECT repeat('y', 100000) FROM generate_series(1, 50)")
    assert r["truncated_reason"] == "max_bytes"
    assert 0 < r["row_count"] <= settings.max_bytes // 100_000


@pytest.mark.parametrize(
    ("sql", "params", "expected"),
    [
        ("SELEC 1", [], "PostgreSQL error 42601: syntax error"),
        ("SELECT $1::int + $2::int", [1], "PostgreSQL error 08P01: bind message supplies 1 parameters"),
        ("SELECT 1", ["a", "b"], "PostgreSQL error 42P18: could not determine data type of parameter $1"),
        ("SELECT $1::int", ["not a number"], "PostgreSQL error 22P02: invalid input syntax for type integer"),
        ("SELECT * FROM demo.nope", [], 'PostgreSQL error 42P01: relation "demo.nope" does not exist'),
        ("SELECT nope FROM demo.tickets", [], 'PostgreSQL error 42703: column "nope" does not exist'),
        ("SELECT 1/0", [], "PostgreSQL error 22012: division by zero"),
        ("SELECT pg_sleep(5)", [], "the statement was stopped: canceling statement due to statement timeout"),
    ],
    ids=[
        "invalid-sql",
        "too-few-params",
        "too-many-params",
        "bad-param-type",
        "unknown-table",
        "unknown-column",
        "division-by-zero",
        "timeout",
    ],
)
async def test_bad_input_is_a_clear_tool_error_and_the_pool_stays_healthy(
    client: Client, sql: str, params: list[Any], expected: str
) -> None:
    assert expected in await error(client, "run_query", sql=sql, params=params)
    assert (await ok(client, "run_query", sql="SELECT 1"))["rows"] == [[1]]


async def test_argument_validation_rejects_empty_sql(client: Client) -> None:
    assert "sql" in await error(client, "run_query", sql="")


async def test_explain_returns_json_plan_without_executing(
    client: Client, admin: psycopg.Connection[Any]
) -> None:
    r = await ok(client, "explain_query", sql="SELECT * FROM demo.tickets WHERE id = $1", params=[1])
    assert r["analyzed"] is False
    assert "Plan" in r["plan"][0]
    assert "Actual Rows" not in r["plan"][0]["Plan"]
    r = await ok(client, "explain_query", sql="SELECT count(*) FROM demo.members", analyze=True)
    assert r["plan"][0]["Plan"]["Actual Rows"] == 1


async def test_top_queries_reads_pg_stat_statements(client: Client) -> None:
    await ok(client, "run_query", sql="SELECT count(*) FROM demo.members")
    r = await ok(client, "top_queries", order_by="calls", limit=50)
    assert r["available"] is True
    assert any("demo.members" in q["query"] for q in r["queries"])


async def test_top_queries_says_clearly_when_the_extension_is_absent(
    client: Client, admin: psycopg.Connection[Any]
) -> None:
    admin.execute("DROP EXTENSION pg_stat_statements")
    try:
        r = await ok(client, "top_queries")
    finally:
        admin.execute("CREATE EXTENSION pg_stat_statements")
    assert r["available"] is False
    assert r["queries"] == []
    assert "CREATE EXTENSION pg_stat_statements" in r["message"]


async def test_database_health_reports_connections_locks_and_indexes(
    client: Client, admin: psycopg.Connection[Any], db_url: str
) -> None:
    admin.execute("BEGIN")
    admin.execute("LOCK TABLE demo.members IN ACCESS EXCLUSIVE MODE")
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: error(client, "run_query", sql="SELECT * FROM demo.members"))  # blocked
            with anyio.fail_after(10):
                while True:
                    health = await ok(client, "database_health", long_running_seconds=0)
                    queries = {b["query"] for b in health["blocking_locks"] + health["long_running"]}
                    if "SELECT * FROM demo.members" in queries:
                        break
                    await anyio.sleep(0.05)
    finally:
        admin.execute("ROLLBACK")
    blocked = [b for b in health["blocking_locks"] if b["query"] == "SELECT * FROM demo.members"]
    assert blocked
    assert blocked[0]["blocked_by"]
    assert health["connections"]["max_connections"] > 0
    assert health["connections"]["active"] >= 1
    assert 0 <= health["cache_hit_ratio"] <= 1
    assert all(set(i) == {"schema", "table", "index", "bytes"} for i in health["unused_indexes"])
    assert any(r["query"] == "SELECT * FROM demo.members" for r in health["long_running"])
    assert all(r["seconds"] >= 0 for r in health["long_running"])
    assert health["notes"] == []


async def test_execute_statement_commits_and_reports_affected_rows(
    client: Client, admin: psycopg.Connection[Any]
) -> None:
    r = await ok(
        client,
        "execute_statement",
        sql="UPDATE demo.tickets SET status = $1 WHERE team = 'platform' RETURNING id, updated_by",
        params=["closed"],
    )
    assert r["status"] == "UPDATE 4"
    assert r["affected_rows"] == 4
    assert [row[1] for row in r["rows"]] == ["alice"] * 4
    assert admin.execute("SELECT count(*) FROM demo.tickets WHERE status = 'closed'").fetchone() == (5,)
    r = await ok(client, "execute_statement", sql="DELETE FROM demo.tickets WHERE id = $1", params=[1])
    assert (r["status"], r["affected_rows"], r["rows"]) == ("DELETE 1", 1, [])


async def test_failed_write_leaves_nothing_behind(client: Client, admin: psycopg.Connection[Any]) -> None:
    message = await error(
        client,
        "execute_statement",
        sql="UPDATE demo.tickets SET priority = priority + 3 WHERE team = 'platform'",
    )
    assert "PostgreSQL error 23514" in message
    assert "check constraint" in message
    assert admin.execute("SELECT max(priority) FROM demo.tickets").fetchone() == (5,)


async def test_ddl_is_refused_plainly(client: Client) -> None:
    message = await error(client, "execute_statement", sql="ALTER TABLE demo.tickets ADD COLUMN x int")
    assert "execute_statement runs one INSERT, UPDATE, DELETE, MERGE or SELECT; this is AlterTable" in message
    # what the allow-list lets through still meets PostgreSQL's grants
    message = await error(client, "execute_statement", sql="UPDATE demo.tickets SET owner = 'bob'")
    assert "PostgreSQL refused this for role fleet_writer: permission denied for table tickets" in message


async def test_cancelled_call_stops_the_query_and_the_pool_recovers(
    make_settings: Callable[..., Any], db_url: str, admin: psycopg.Connection[Any]
) -> None:
    settings = make_settings(pool_min_size=1, pool_max_size=1, statement_timeout_ms=30_000)
    db = Database(settings, db_url)
    ctx = CallContext(role="fleet_reader", subject="alice", claims={})
    try:
        with anyio.move_on_after(0.5):
            async with db.session(ctx) as conn:
                await conn.execute("SELECT pg_sleep(20) /* fleet-cancel-me */")
        running = (
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE query LIKE '%fleet-cancel-me%' AND pid <> pg_backend_pid()"
        )
        with anyio.fail_after(5):  # the server-side statement is gone long before its 20 s
            while admin.execute(running).fetchone() != (0,):  # noqa: ASYNC110 - polling another process
                await anyio.sleep(0.05)
        async with db.session(ctx) as conn:
            assert await (await conn.execute("SELECT current_user")).fetchone() == ("fleet_reader",)
    finally:
        await db.close()


async def test_cancelled_tool_call_through_mcp_leaves_a_usable_server(
    settings: DbSettings, database: Database
) -> None:
    with acting_as(identity("alice", "db:read", audience=AUD)):
        async with Client(build_server(settings, database)) as c:
            with anyio.move_on_after(0.3):
                await c.call_tool("run_query", {"sql": "SELECT pg_sleep(1.2)"})
            with anyio.fail_after(10):
                result = await c.call_tool("run_query", {"sql": "SELECT 42"})
    assert result.structured_content["rows"] == [[42]]


async def test_unmapped_scopes_get_a_clear_error_not_the_login_role(
    make_settings: Callable[..., DbSettings], db_url: str
) -> None:
    settings = make_settings(roles={"db:write": "fleet_writer"})  # nothing for plain readers
    db = Database(settings, db_url)
    try:
        with acting_as(identity("bob", "db:read", audience=AUD)):
            async with Client(build_server(settings, db)) as c:
                message = await error(c, "run_query", sql="SELECT current_user")
    finally:
        await db.close()
    assert message.endswith("no database role is mapped to your scopes (db:read)")


async def test_text_content_is_the_same_json_as_the_structured_result(client: Client) -> None:
    with anyio.fail_after(20):
        result = await client.call_tool(
            "run_query", {"sql": "SELECT g, 'é\"' || g AS s, now() FROM generate_series(1, 1200) g"}
        )
    assert json.loads(text_of(result)) == result.structured_content
    assert result.structured_content["row_count"] == 1000
    assert result.structured_content["truncated_reason"] == "max_rows"


async def test_every_common_type_comes_back_as_json(client: Client) -> None:
    r = await ok(
        client,
        "run_query",
        sql="SELECT int4range(1, 5) AS r, tstzrange('2026-01-01', '2026-01-02') AS tr, "
        "interval '1 day' AS i, '\\x00ff'::bytea AS b, '10.0.0.1'::inet AS ip, B'101' AS bits, "
        "'x'::name AS n, "
        "ARRAY[date '2026-01-01'] AS dates, '{\"k\": [1, null]}'::json AS j, 2.5::float8 AS f, "
        "'a'::char AS c, "
        "pg_sleep(0) AS v, '(1,2)'::point AS p, 12345678901234567890::numeric AS big",
    )
    assert r["rows"] == [
        ["[1,5)", '["2026-01-01 00:00:00+00","2026-01-02 00:00:00+00")', "1 day", "\\x00ff", "10.0.0.1",
         "101", "x", ["2026-01-01"], {"k": [1, None]}, 2.5, "a", "", "(1,2)", "12345678901234567890"]
    ]  # fmt: skip


async def test_columns_of_user_defined_types_are_named(
    client: Client, admin: psycopg.Connection[Any]
) -> None:
    admin.execute("DROP TYPE IF EXISTS demo.mood; CREATE TYPE demo.mood AS ENUM ('ok', 'sad')")
    r = await ok(client, "run_query", sql="SELECT 'ok'::demo.mood AS m, pg_sleep(0) AS v")
    assert r["columns"] == [{"name": "m", "type": "demo.mood"}, {"name": "v", "type": "void"}]
    assert r["rows"] == [["ok", ""]]


async def test_role_mapping_is_configurable(
    make_settings: Callable[..., DbSettings], db_url: str, admin: psycopg.Connection[Any]
) -> None:
    settings = make_settings(roles={"db:read": "fleet_reader"})  # writers get no writer role here
    db = Database(settings, db_url)
    try:
        with acting_as(identity("alice", "db:read db:write", audience=AUD)):
            async with Client(build_server(settings, db)) as c:
                who = await ok(c, "run_query", sql="SELECT current_user")
                refused = await error(c, "execute_statement", sql="DELETE FROM demo.tickets WHERE id = 1")
    finally:
        await db.close()
    assert who["rows"] == [["fleet_reader"]]
    assert "PostgreSQL refused this for role fleet_reader: permission denied for table tickets" in refused
    assert admin.execute("SELECT count(*) FROM demo.tickets").fetchone() == (8,)


async def test_a_missing_database_role_is_a_backend_error(
    make_settings: Callable[..., DbSettings], db_url: str, audit_lines: list[dict[str, Any]]
) -> None:
    settings = make_settings(roles={"db:read": "no_such_role"})
    db = Database(settings, db_url)
    try:
        with acting_as(identity("alice", "db:read", audience=AUD)):
            async with Client(build_server(settings, db)) as c:
                message = await error(c, "run_query", sql="SELECT 1")
    finally:
        await db.close()
    assert "could not act as role 'no_such_role'" in message
    assert [line["outcome"] for line in audit_lines if line["tool"] == "run_query"] == ["backend_error"]


@pytest.mark.parametrize("tool", ["run_query", "execute_statement", "explain_query"])
@pytest.mark.parametrize(
    ("sql", "params", "expected"),
    [
        (" ", [], "the statement is empty"),
        ("-- only a comment", [], "the statement is empty"),
        ("SELECT 1 \x00; DELETE FROM demo.tickets", [], "SQL text must not contain NUL characters"),
        ("SELECT $1::text", ["a\x00b"], "the statement could not be sent"),
    ],
    ids=["whitespace", "comment", "nul-in-sql", "nul-in-param"],
)
async def test_empty_or_nul_sql_is_a_clear_error(
    client: Client, admin: psycopg.Connection[Any], tool: str, sql: str, params: list[Any], expected: str
) -> None:
    message = await error(client, tool, sql=sql, params=params)
    if tool == "explain_query" and expected == "the statement is empty":
        expected = "syntax error at end of input"  # EXPLAIN of nothing
    assert expected in message
    assert (await ok(client, "run_query", sql="SELECT 1"))["rows"] == [[1]]
    assert admin.execute("SELECT count(*) FROM demo.tickets").fetchone() == (8,)


async def test_a_failed_commit_says_nothing_was_written(
    client: Client, admin: psycopg.Connection[Any]
) -> None:
    admin.execute(
        "CREATE TABLE demo.parent (id int PRIMARY KEY); "
        "CREATE TABLE demo.child (parent int REFERENCES demo.parent DEFERRABLE INITIALLY DEFERRED); "
        "GRANT INSERT, SELECT ON demo.child TO fleet_writer"
    )
    try:
        message = await error(client, "execute_statement", sql="INSERT INTO demo.child VALUES (42)")
        assert "commit failed, nothing was written" in message
        assert "foreign key" in message
        assert admin.execute("SELECT count(*) FROM demo.child").fetchone() == (0,)
        assert (await ok(client, "run_query", sql="SELECT 1"))["rows"] == [[1]]
    finally:
        admin.execute("DROP TABLE demo.child, demo.parent")


async def test_non_finite_floats_are_spelled_as_strings(client: Client) -> None:
    with anyio.fail_after(20):
        result = await client.call_tool(
            "run_query", {"sql": "SELECT 'NaN'::float8, 'infinity'::float8, ARRAY['-infinity'::float8, 1.5]"}
        )
    assert result.structured_content["rows"] == [["NaN", "Infinity", ["-Infinity", 1.5]]]
    assert json.loads(text_of(result)) == result.structured_content


async def run_concurrently(settings: Any, db_url: str, sql: str, n: int) -> list[Any]:
    db = Database(settings, db_url)
    await db.open()
    await db.pool.wait(timeout=10)
    results: list[Any] = []
    try:
        with acting_as(identity("alice", "db:read", audience=AUD)):
            async with Client(build_server(settings, db)) as c:

                async def one() -> None:
                    results.append(await c.call_tool("run_query", {"sql": sql}))

                with anyio.fail_after(30):
                    async with anyio.create_task_group() as tg:
                        for _ in range(n):
                            tg.start_soon(one)
    finally:
        await db.close()
    return results


async def test_concurrent_calls_share_the_pool(make_settings: Callable[..., DbSettings], db_url: str) -> None:
    settings = make_settings(pool_min_size=2, pool_max_size=2)
    results = await run_concurrently(settings, db_url, "SELECT pg_sleep(0.02)", 12)
    assert [r.is_error for r in results] == [False] * 12


async def test_an_exhausted_pool_is_a_clear_backend_error(
    make_settings: Callable[..., DbSettings], db_url: str
) -> None:
    settings = make_settings(pool_min_size=1, pool_max_size=1, pool_timeout_seconds=0.5)
    results = await run_concurrently(settings, db_url, "SELECT pg_sleep(1.2)", 3)
    errors = [text_of(r) for r in results if r.is_error]
    assert len(errors) == 2
    assert all("database unavailable: no free connection within 0.5s" in e for e in errors)


async def test_a_truncated_read_cancels_cleanly_and_keeps_its_connection(
    make_settings: Callable[..., DbSettings], db_url: str
) -> None:
    # A generous statement_timeout: on a loaded machine the 1.5 s default can fire before the cancel
    # does, and this test is about the cancel keeping the connection, not about the timeout.
    settings = make_settings(pool_min_size=1, pool_max_size=1, statement_timeout_ms=15000)
    db = Database(settings, db_url)
    ctx = CallContext(role="fleet_reader", subject="alice", claims={})
    backends = set()
    try:
        with anyio.fail_after(20):
            for _ in range(3):
                async with db.session(ctx) as conn:
                    backends.add(conn.info.backend_pid)
                    result = await ops.run_query(
                        conn,
                        ctx.role,
                        "SELECT g FROM generate_series(1, 10000000) g",
                        [],
                        max_rows=5,
                        max_bytes=10_000,
                    )
                    assert (result.row_count, result.truncated_reason) == (5, "max_rows")
    finally:
        await db.close()
    assert len(backends) == 1  # cancelled and drained in place, not dropped


async def test_explaining_a_write_without_analyze_plans_it_and_changes_nothing(
    client: Client, admin: psycopg.Connection[Any]
) -> None:
    r = await ok(client, "explain_query", sql="DELETE FROM demo.tickets WHERE owner = $1", params=["alice"])
    assert r["plan"][0]["Plan"]["Node Type"] == "ModifyTable"
    assert admin.execute("SELECT count(*) FROM demo.tickets").fetchone() == (8,)
