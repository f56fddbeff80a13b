# ruff: noqa: E501  (the corpus reads best one attempt per line)
"""A hostile-SQL corpus: every attempt must fail (or do nothing) and leave the database exactly as it was.

PostgreSQL is the guard (roles, grants, RLS, READ ONLY, timeouts, single-statement protocol); these tests
check that by inspecting the database afterwards as a superuser, and by probing the pooled connection
(the pool has ONE connection here, so any session state left behind would show up in the next call).
"""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest
from mcp import Client

from fleet_core.testing import acting_as, identity, text_of
from fleet_db import Database, build_server
from fleet_db.provision import SIDE_EFFECT_FUNCTIONS, TEMP_FILE_LIMIT, provision

AUD = "http://127.0.0.1:8700/mcp/db"
READER = "db:read"
WRITER = "db:read db:write"
PWNED = Path("/tmp/fleet-db-hostile-pwned")

SNAPSHOT = {
    "tickets": "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM demo.tickets t",
    "members": "SELECT md5(coalesce(string_agg(m::text, '|' ORDER BY subject), '')) FROM demo.members m",
    "large_objects": "SELECT count(*) FROM pg_largeobject_metadata",
    "functions": "SELECT string_agg(p.oid::regprocedure::text, ',' ORDER BY 1) FROM pg_proc p "
    "WHERE pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)",
    "relations": "SELECT string_agg(c.oid::regclass::text, ',' ORDER BY 1) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname !~ '^(pg_|information_schema)'",
    "temp_schemas": "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname ~ '^pg_temp'",
    "roles": "SELECT string_agg(format('%s:%s%s%s%s', rolname, rolsuper, rolinherit, rolcreaterole, rolcanlogin), "
    "',' ORDER BY rolname) FROM pg_roles",
    "memberships": "SELECT string_agg(format('%s>%s', roleid::regrole, member::regrole), ',' ORDER BY 1) "
    "FROM pg_auth_members",
    "acls": "SELECT string_agg(format('%s=%s', oid::regclass, relacl), ',' ORDER BY 1) FROM pg_class "
    "WHERE relnamespace = 'demo'::regnamespace",
    "rls": "SELECT string_agg(format('%s:%s%s', relname, relrowsecurity, relforcerowsecurity), ',' ORDER BY 1) "
    "FROM pg_class WHERE relnamespace = 'demo'::regnamespace",
    "policies": "SELECT count(*) FROM pg_policy",
    "extensions": "SELECT string_agg(extname, ',' ORDER BY 1) FROM pg_extension",
    "schemas": "SELECT string_agg(nspname, ',' ORDER BY 1) FROM pg_namespace",
    "advisory_locks": "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'",
    "prepared_xacts": "SELECT count(*) FROM pg_prepared_xacts",
    "set_config_acl": "SELECT proacl::text FROM pg_proc WHERE oid = 'set_config(text,text,boolean)'::regprocedure",
    "settings": "SELECT md5(string_agg(name || setting, ',' ORDER BY name)) FROM pg_settings "
    "WHERE context NOT IN ('user', 'superuser') OR source = 'configuration file'",
    "db_acl": "SELECT datacl::text FROM pg_database WHERE datname = current_database()",
    "role_settings": "SELECT string_agg(format('%s/%s:%s', setdatabase, setrole::regrole, setconfig), ',' ORDER BY 1) "
    "FROM pg_db_role_setting",
    "passwords": "SELECT md5(string_agg(rolname || coalesce(rolpassword, '-'), ',' ORDER BY rolname)) FROM pg_authid",
    "default_acls": "SELECT string_agg(format('%s:%s', defaclrole::regrole, defaclacl), ',' ORDER BY 1) FROM pg_default_acl",
    "function_acls": "SELECT md5(string_agg(format('%s=%s', oid::regprocedure, proacl), ',' ORDER BY oid)) FROM pg_proc "
    "WHERE proacl IS NOT NULL",
    "comments": "SELECT md5(coalesce(string_agg(description, '|' ORDER BY objoid, objsubid), '')) "
    "FROM pg_description WHERE objoid >= 16384",
}

PROBE = (
    "SELECT current_user::text, session_user::text, current_setting('fleet.subject'), "
    "current_setting('transaction_read_only'), (SELECT count(*) FROM pg_listening_channels())::int, "
    "(SELECT count(*) FROM pg_prepared_statements)::int, (SELECT count(*) FROM pg_cursors WHERE name <> '')::int, "
    "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())::int, "
    "current_setting('statement_timeout'), current_setting('row_security')"
)


def snapshot(admin: psycopg.Connection[Any]) -> dict[str, tuple[Any, ...] | None]:
    return {name: admin.execute(query).fetchone() for name, query in SNAPSHOT.items()}


# (id, tool, sql, scopes, outcome): outcome "error" = a tool error; "ok" = allowed but must change nothing.
# fmt: off
CORPUS: list[tuple[str, str, str, str, str]] = [
    # stacked statements: the archived reference server's escape
    ("stacked-commit-insert", "run_query", "COMMIT; INSERT INTO demo.tickets (title, team) VALUES ('x', 'platform')", READER, "error"),
    ("stacked-rollback-delete", "run_query", "ROLLBACK; DELETE FROM demo.tickets", READER, "error"),
    ("stacked-begin-read-write", "run_query", "COMMIT; BEGIN READ WRITE; UPDATE demo.tickets SET title = 'pwned'; COMMIT", READER, "error"),
    ("stacked-writes-in-write-tool", "execute_statement", "UPDATE demo.tickets SET status = 'closed' WHERE owner = 'alice'; DELETE FROM demo.tickets", WRITER, "error"),
    ("stacked-set-role-then-delete", "run_query", "SET ROLE fleet_writer; DELETE FROM demo.tickets", READER, "error"),
    ("stacked-reset-role-then-read", "run_query", "RESET ROLE; SELECT * FROM demo.tickets", READER, "error"),
    ("lone-commit", "run_query", "COMMIT", READER, "ok"),
    ("lone-commit-and-chain", "run_query", "COMMIT AND CHAIN", READER, "ok"),
    # role and identity switching
    ("set-role-writer", "run_query", "SET ROLE fleet_writer", READER, "ok"),
    ("reset-role", "run_query", "RESET ROLE", READER, "ok"),
    ("set-session-authorization", "run_query", "SET SESSION AUTHORIZATION fleet_admin", READER, "error"),
    ("set-session-authorization-writer", "execute_statement", "SET SESSION AUTHORIZATION fleet_admin", WRITER, "error"),
    ("set-config-role", "run_query", "SELECT set_config('role', 'fleet_writer', false)", READER, "error"),
    ("set-config-subject", "run_query", "SELECT set_config('fleet.subject', 'bob', true), * FROM demo.tickets", READER, "error"),
    ("set-config-subject-cte", "execute_statement", "WITH s AS MATERIALIZED (SELECT set_config('fleet.subject', 'bob', true)) DELETE FROM demo.tickets WHERE owner = 'bob' AND EXISTS (SELECT 1 FROM s)", WRITER, "error"),
    ("set-config-row-security", "run_query", "SELECT set_config('row_security', 'off', false)", READER, "error"),
    ("update-pg-settings-subject", "run_query", "UPDATE pg_settings SET setting = 'bob' WHERE name = 'fleet.subject'", READER, "error"),
    ("update-pg-settings-subject-writer", "execute_statement", "UPDATE pg_settings SET setting = 'bob' WHERE name = 'fleet.subject'", WRITER, "error"),
    ("update-pg-settings-role", "execute_statement", "UPDATE pg_settings SET setting = 'fleet_admin' WHERE name = 'role'", WRITER, "error"),
    ("alter-own-role-defaults", "execute_statement", "ALTER ROLE fleet_writer SET fleet.subject = 'bob'", WRITER, "error"),
    ("alter-login-role", "execute_statement", "ALTER ROLE fleet_authenticator SET fleet.subject = 'bob'", WRITER, "error"),
    # finding 12.2: a role may alter itself; execute_statement's allow-list (PostgreSQL's parser) refuses it
    ("alter-own-role-search-path", "execute_statement", "ALTER ROLE fleet_writer SET search_path = evil, public", WRITER, "error"),
    ("alter-own-role-password", "execute_statement", "ALTER ROLE fleet_writer PASSWORD 'pwned-password'", WRITER, "error"),
    ("alter-own-role-password-null", "execute_statement", "ALTER ROLE fleet_writer PASSWORD NULL", WRITER, "error"),
    ("alter-own-role-reset-all", "execute_statement", "ALTER ROLE fleet_writer RESET ALL", WRITER, "error"),
    ("alter-current-user", "execute_statement", "ALTER ROLE CURRENT_USER SET work_mem = '1GB'", WRITER, "error"),
    ("alter-user-in-database", "execute_statement", "ALTER USER fleet_writer IN DATABASE fleet_test SET statement_timeout = 0", WRITER, "error"),
    ("default-privileges-writer", "execute_statement", "ALTER DEFAULT PRIVILEGES FOR ROLE fleet_writer GRANT ALL ON TABLES TO PUBLIC", WRITER, "error"),
    ("default-privileges-reader", "execute_statement", "ALTER DEFAULT PRIVILEGES FOR ROLE fleet_reader GRANT ALL ON TABLES TO PUBLIC", WRITER, "error"),
    ("drop-owned-by-self", "execute_statement", "DROP OWNED BY fleet_writer", WRITER, "error"),
    ("reassign-owned", "execute_statement", "REASSIGN OWNED BY fleet_writer TO fleet_reader", WRITER, "error"),
    ("select-into-new-table", "execute_statement", "SELECT * INTO demo.stolen FROM demo.tickets", WRITER, "error"),
    ("call-procedure", "execute_statement", "CALL demo.nothing()", WRITER, "error"),
    ("grant-select-to-public", "execute_statement", "GRANT SELECT ON demo.tickets TO PUBLIC", WRITER, "error"),
    ("security-label", "execute_statement", "SECURITY LABEL ON ROLE fleet_writer IS 'x'", WRITER, "error"),
    ("unparseable-for-the-allow-list", "execute_statement", "ALTER ROLE fleet_writer SET", WRITER, "error"),
    ("cte-wrapped-write-is-still-a-write", "execute_statement", "WITH d AS (DELETE FROM demo.tickets WHERE owner = 'bob' RETURNING 1) SELECT count(*) FROM d", WRITER, "ok"),
    # finding 12.3: side effects that survive a read-only rollback
    ("wal-message-read", "run_query", "SELECT pg_logical_emit_message(false, 'fleet', repeat('w', 1000000))", READER, "error"),
    ("wal-message-transactional", "run_query", "SELECT pg_logical_emit_message(true, 'fleet', 'x'::bytea)", READER, "error"),
    ("xid-in-read", "run_query", "SELECT pg_current_xact_id()", READER, "error"),
    ("txid-current-in-read", "run_query", "SELECT txid_current()", READER, "error"),
    ("notify-from-read", "run_query", "SELECT pg_notify('fleet', 'x')", READER, "error"),
    ("brin-summarize", "run_query", "SELECT brin_summarize_new_values('demo.tickets_team_idx'::regclass)", READER, "error"),
    ("gin-clean", "run_query", "SELECT gin_clean_pending_list('demo.tickets_team_idx'::regclass)", READER, "error"),
    ("raise-temp-file-limit", "run_query", "SET temp_file_limit = -1", READER, "error"),
    ("session-set-role-writer", "execute_statement", "SET ROLE fleet_writer", WRITER, "error"),
    ("session-characteristics-read-write", "execute_statement", "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", WRITER, "error"),
    ("session-set-subject-writer", "execute_statement", "SET fleet.subject = 'bob'", WRITER, "error"),
    # server files and programs
    ("pg-read-file", "run_query", "SELECT pg_read_file('/etc/passwd')", READER, "error"),
    ("pg-read-file-in-from", "run_query", "SELECT * FROM pg_read_file('postgresql.conf')", READER, "error"),
    ("pg-read-binary-file", "run_query", "SELECT pg_read_binary_file('PG_VERSION')", READER, "error"),
    ("pg-ls-dir", "run_query", "SELECT pg_ls_dir('.')", READER, "error"),
    ("pg-stat-file", "run_query", "SELECT pg_stat_file('postgresql.conf')", READER, "error"),
    ("copy-to-program", "run_query", f"COPY (SELECT 1) TO PROGRAM 'touch {PWNED}'", READER, "error"),
    ("copy-from-program", "execute_statement", f"COPY demo.members FROM PROGRAM 'touch {PWNED}'", WRITER, "error"),
    ("copy-to-file", "run_query", f"COPY demo.tickets TO '{PWNED}'", READER, "error"),
    ("copy-to-stdout", "run_query", "COPY demo.tickets TO STDOUT", READER, "error"),
    ("copy-from-stdin", "execute_statement", "COPY demo.tickets (title, team) FROM STDIN", WRITER, "error"),
    # large objects
    ("lo-import", "run_query", "SELECT lo_import('/etc/passwd')", READER, "error"),
    ("lo-create-writer", "execute_statement", "SELECT lo_create(0)", WRITER, "error"),
    ("lo-from-bytea", "execute_statement", "SELECT lo_from_bytea(0, 'pwned')", WRITER, "error"),
    ("lo-export", "run_query", f"SELECT lo_export(1, '{PWNED}')", READER, "error"),
    # dblink / extensions / functions / DO
    ("dblink-call", "run_query", "SELECT * FROM dblink('host=127.0.0.1 user=fleet_admin', 'DELETE FROM demo.tickets') AS t(x text)", READER, "error"),
    ("create-extension-dblink", "execute_statement", "CREATE EXTENSION dblink", WRITER, "error"),
    ("create-function", "execute_statement", "CREATE FUNCTION demo.evil() RETURNS int LANGUAGE sql AS 'SELECT 1'", WRITER, "error"),
    ("create-function-pg-temp", "execute_statement", "CREATE FUNCTION pg_temp.evil() RETURNS int LANGUAGE sql AS 'SELECT 1'", WRITER, "error"),
    ("create-function-public", "execute_statement", "CREATE FUNCTION public.evil() RETURNS int LANGUAGE sql AS 'SELECT 1'", WRITER, "error"),
    ("do-block-reader", "run_query", "DO $$ BEGIN PERFORM 1; END $$", READER, "error"),
    ("do-block-writer", "execute_statement", "DO $$ BEGIN DELETE FROM demo.tickets; END $$", WRITER, "error"),
    # DDL and privilege changes under the writer role
    ("create-table", "execute_statement", "CREATE TABLE demo.evil (a int)", WRITER, "error"),
    ("create-temp-table-writer", "execute_statement", "CREATE TEMP TABLE evil (a int)", WRITER, "error"),
    ("create-temp-table-reader", "run_query", "CREATE TEMP TABLE evil AS SELECT 1", READER, "error"),
    ("drop-table", "execute_statement", "DROP TABLE demo.tickets", WRITER, "error"),
    ("truncate", "execute_statement", "TRUNCATE demo.tickets", WRITER, "error"),
    ("disable-rls", "execute_statement", "ALTER TABLE demo.tickets DISABLE ROW LEVEL SECURITY", WRITER, "error"),
    ("drop-policy", "execute_statement", "DROP POLICY tickets_visible ON demo.tickets", WRITER, "error"),
    ("create-role", "execute_statement", "CREATE ROLE evil SUPERUSER LOGIN", WRITER, "error"),
    ("grant-writer-to-reader", "execute_statement", "GRANT fleet_writer TO fleet_reader", WRITER, "error"),
    ("alter-system", "execute_statement", "ALTER SYSTEM SET fsync = on", WRITER, "error"),
    ("prepare-transaction", "execute_statement", "PREPARE TRANSACTION 'evil'", WRITER, "error"),
    ("load-library", "run_query", "LOAD 'auto_explain'", READER, "error"),
    ("read-pg-authid", "run_query", "SELECT rolpassword FROM pg_authid", READER, "error"),
    ("terminate-backends", "run_query", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'", READER, "error"),
    # column grants and RLS under the writer role
    ("update-owner-column", "execute_statement", "UPDATE demo.tickets SET owner = 'bob'", WRITER, "error"),
    ("forge-updated-by", "execute_statement", "UPDATE demo.tickets SET updated_by = 'bob'", WRITER, "error"),
    ("delete-other-team", "execute_statement", "DELETE FROM demo.tickets WHERE owner = 'bob'", WRITER, "ok"),
    ("update-other-team", "execute_statement", "UPDATE demo.tickets SET title = 'pwned' WHERE team = 'payments'", WRITER, "ok"),
    ("insert-as-someone-else", "execute_statement", "INSERT INTO demo.tickets (title, team, owner) VALUES ('x', 'payments', 'bob')", WRITER, "error"),
    ("write-members", "execute_statement", "UPDATE demo.members SET team = 'payments' WHERE subject = 'alice'", WRITER, "error"),
    # timeouts and caps
    ("pg-sleep-past-timeout", "run_query", "SELECT pg_sleep(30)", READER, "error"),
    ("pg-sleep-in-write", "execute_statement", "UPDATE demo.tickets SET title = title || pg_sleep(30)::text", WRITER, "error"),
    ("runaway-cross-join-rows", "run_query", "SELECT * FROM generate_series(1, 100000) a, generate_series(1, 100000) b", READER, "ok"),
    ("runaway-cross-join-bytes", "run_query", "SELECT repeat('x', 5000) FROM demo.tickets a, demo.tickets b, demo.tickets c, generate_series(1, 100000)", READER, "ok"),
    ("huge-single-value", "run_query", "SELECT repeat('x', 50000000)", READER, "ok"),
    ("cancel-backends", "run_query", "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'", READER, "error"),
    ("lock-table-exclusive-reader", "run_query", "LOCK TABLE demo.tickets IN ACCESS EXCLUSIVE MODE", READER, "error"),
    ("comment-on-table", "execute_statement", "COMMENT ON TABLE demo.tickets IS 'pwned'", WRITER, "error"),
    ("create-schema", "execute_statement", "CREATE SCHEMA evil", WRITER, "error"),
    ("recursive-cte-forever", "run_query", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r", READER, "error"),
    # session state that would outlive the call on a pooled connection
    ("advisory-lock-reader", "run_query", "SELECT pg_advisory_lock(42)", READER, "ok"),
    ("advisory-lock-writer", "execute_statement", "SELECT pg_advisory_lock(43)", WRITER, "ok"),
    ("listen-reader", "run_query", "LISTEN fleet_evil", READER, "ok"),
    ("listen-writer", "execute_statement", "LISTEN fleet_evil", WRITER, "error"),
    ("prepare-delete", "execute_statement", "PREPARE evil AS DELETE FROM demo.tickets", WRITER, "error"),
    ("declare-cursor-with-hold", "execute_statement", "DECLARE evil CURSOR WITH HOLD FOR SELECT 1", WRITER, "error"),
    ("session-statement-timeout", "execute_statement", "SET statement_timeout = 0", WRITER, "error"),
    # comment and quoting tricks
    ("comment-hides-semicolon", "run_query", "SELECT 1 /* ; */ ; DELETE FROM demo.tickets --", READER, "error"),
    ("line-comment-newline", "run_query", "SELECT 1 -- harmless\n; DELETE FROM demo.tickets", READER, "error"),
    ("dollar-quote-semicolon", "run_query", "SELECT $$;$$; DELETE FROM demo.tickets", READER, "error"),
    ("quoted-semicolon-is-data", "run_query", "SELECT 'x'';DELETE FROM demo.tickets;--'", READER, "ok"),
    ("unicode-escape-identifier", "run_query", 'SELECT * FROM demo.U&"\\0074ickets"; DELETE FROM demo.tickets', READER, "error"),
    # writes smuggled into reads
    ("write-via-cte-delete", "run_query", "WITH d AS (DELETE FROM demo.tickets RETURNING *) SELECT count(*) FROM d", READER, "error"),
    ("write-via-cte-update", "run_query", "WITH u AS (UPDATE demo.tickets SET title = 'x' RETURNING 1) SELECT * FROM u", READER, "error"),
    ("write-via-function", "run_query", "SELECT demo.touch_ticket(1)", READER, "error"),
    ("write-via-function-writer-scope", "run_query", "SELECT demo.touch_ticket(1)", WRITER, "error"),
    ("nextval-in-read", "run_query", "SELECT nextval(pg_get_serial_sequence('demo.tickets', 'id'))", READER, "error"),
    ("set-transaction-read-write", "run_query", "SET TRANSACTION READ WRITE", READER, "error"),
    ("select-for-update", "run_query", "SELECT * FROM demo.tickets FOR UPDATE", READER, "error"),
    ("explain-analyze-delete", "explain_query", "DELETE FROM demo.tickets", READER, "error"),
    ("explain-stacked", "explain_query", "SELECT 1; DELETE FROM demo.tickets", READER, "error"),
    ("vacuum", "run_query", "VACUUM demo.tickets", READER, "error"),
]
# fmt: on


@pytest.fixture
async def call(db_url: str, make_settings: Callable[..., Any]) -> AsyncIterator[Callable[..., Any]]:
    """Call a tool as alice with the given scopes, in memory, on a ONE-connection pool."""
    settings = make_settings(pool_min_size=1, pool_max_size=1, max_rows=500, max_bytes=200_000)
    db = Database(settings, db_url)
    await db.open()
    mcp = build_server(settings, db)

    async def invoke(tool: str, args: dict[str, Any], scopes: str = READER, subject: str = "alice") -> Any:
        with acting_as(identity(subject, scopes, audience=AUD)):
            async with Client(mcp) as client:
                return await client.call_tool(tool, args)

    try:
        yield invoke
    finally:
        await db.close()


@pytest.mark.parametrize(("case", "tool", "sql", "scopes", "outcome"), CORPUS, ids=[c[0] for c in CORPUS])
async def test_hostile_sql_has_no_side_effects(
    call: Callable[..., Any],
    admin: psycopg.Connection[Any],
    case: str,
    tool: str,
    sql: str,
    scopes: str,
    outcome: str,
) -> None:
    await anyio.Path(PWNED).unlink(missing_ok=True)
    before = snapshot(admin)
    args: dict[str, Any] = {"sql": sql} | ({"analyze": True} if tool == "explain_query" else {})
    started = time.monotonic()
    with anyio.fail_after(20):
        result = await call(tool, args, scopes)
    assert result.is_error is (outcome == "error"), result.content
    assert time.monotonic() - started < 10  # timeouts bite, nothing hangs
    if case.startswith("runaway") or case == "huge-single-value":
        assert result.structured_content["truncated"] is True
    # the pooled connection is clean: caller's role back, no listeners, prepared statements, cursors, locks
    with anyio.fail_after(20):
        probe = await call("run_query", {"sql": PROBE}, READER)
    assert not probe.is_error, probe.content
    assert probe.structured_content["rows"] == [
        ["fleet_reader", "fleet_authenticator", "alice", "on", 0, 0, 0, 0, "1500ms", "on"]
    ]
    assert snapshot(admin) == before
    assert not await anyio.Path(PWNED).exists()


@pytest.mark.parametrize("function", ["pg_terminate_backend", "pg_cancel_backend"])
async def test_a_caller_cannot_signal_other_sessions_of_the_login_role(
    call: Callable[..., Any], db_url: str, function: str
) -> None:
    with psycopg.connect(db_url, autocommit=True) as other:
        pid = other.info.backend_pid
        with anyio.fail_after(20):
            result = await call("run_query", {"sql": f"SELECT {function}($1)", "params": [pid]})
        assert result.is_error
        assert "must be a member of the role" in result.content[0].text
        assert other.execute("SELECT 1").fetchone() == (1,)


# ---------------------------------------------------------------- issue 12: the attack run's findings

RANGE_PROBE = "SELECT 1 FROM demo.tickets WHERE title >= $1 AND title < $2"


def _counts(plan: Any) -> list[tuple[str, Any]]:
    """Every count an executed or estimated plan reports (what the oracle reads), timings left out."""
    keys = (
        "Actual Rows",
        "Actual Loops",
        "Rows Removed by Filter",
        "Rows Removed by Index Recheck",
        "Plan Rows",
    )
    found: list[tuple[str, Any]] = []
    if isinstance(plan, dict):
        found += [(k, plan[k]) for k in keys if k in plan]
        for value in plan.values():
            found += _counts(value)
    elif isinstance(plan, list):
        for value in plan:
            found += _counts(value)
    return found


async def test_finding1_rls_range_bisection_through_explain_recovers_nothing(
    call: Callable[..., Any], admin: psycopg.Connection[Any]
) -> None:
    # what the policy hides from bob (payments): checked as a superuser, so the attack has a target
    hidden = [
        r[0]
        for r in admin.execute("SELECT title FROM demo.tickets WHERE team <> 'payments' AND owner <> 'bob'")
    ]
    assert len(hidden) == 4
    before = snapshot(admin)

    async def observe(lo: str, hi: str, analyze: bool) -> Any:
        result = await call(
            "explain_query", {"sql": RANGE_PROBE, "params": [lo, hi], "analyze": analyze}, READER, "bob"
        )
        return "refused" if result.is_error else _counts(result.structured_content["plan"])

    with anyio.fail_after(60):
        for analyze in (True, False):
            empty = await observe("~~~~", "~~~~~", analyze)  # a range no ticket, hidden or not, falls in

            async def oracle(lo: str, hi: str, analyze: bool = analyze, empty: Any = empty) -> bool:
                return bool(await observe(lo, hi, analyze) != empty)

            # the extraction: first letters by range, then bisection on the next characters
            recovered: list[str] = []
            for first in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
                if not await oracle(first, chr(ord(first) + 1)):
                    continue
                prefix = first
                for _ in range(3):
                    lo, hi = 32, 127
                    while hi - lo > 1:
                        mid = (lo + hi) // 2
                        if await oracle(prefix + chr(lo), prefix + chr(mid)):
                            hi = mid
                        else:
                            lo = mid
                    prefix += chr(lo)
                recovered.append(prefix)
            assert recovered == [], f"analyze={analyze}: the plan leaked {recovered}"
    # bob still gets real plans (shape only) and real timings where no policy applies
    shape = await call("explain_query", {"sql": RANGE_PROBE, "params": ["A", "Z"]}, READER, "bob")
    assert shape.structured_content["analyzed"] is False
    assert "row-level security applies to demo.tickets" in shape.structured_content["note"]
    refused = await call(
        "explain_query", {"sql": RANGE_PROBE, "params": ["A", "Z"], "analyze": True}, READER, "bob"
    )
    assert "analyze is not available here" in refused.content[0].text
    free = await call(
        "explain_query", {"sql": "SELECT count(*) FROM demo.members", "analyze": True}, READER, "bob"
    )
    assert free.structured_content["analyzed"] is True
    assert free.structured_content["plan"][0]["Plan"]["Actual Rows"] == 1
    assert snapshot(admin) == before


async def test_finding1_rls_through_a_view_is_detected_too(call: Callable[..., Any]) -> None:
    result = await call(
        "explain_query", {"sql": "SELECT * FROM demo.open_tickets", "analyze": True}, READER, "bob"
    )
    assert result.is_error
    assert "demo.tickets" in result.content[0].text


def test_finding3_every_revoked_side_effect_function_has_a_hostile_case() -> None:
    attempted = " ".join(
        sql
        for case, _, sql, _, _ in CORPUS
        if case.startswith(("wal-", "xid-", "txid-", "notify-", "brin-", "gin-"))
    )
    assert set(SIDE_EFFECT_FUNCTIONS) - {"brin_summarize_range", "brin_desummarize_range"} <= {
        f for f in SIDE_EFFECT_FUNCTIONS if f + "(" in attempted
    }


@pytest.mark.parametrize("function", SIDE_EFFECT_FUNCTIONS)
async def test_finding3_public_may_not_execute_side_effect_builtins(
    admin: psycopg.Connection[Any], function: str
) -> None:
    granted = admin.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.proname = %s "
        "AND has_function_privilege('fleet_reader', p.oid, 'EXECUTE') "
        "OR p.proname = %s AND has_function_privilege('fleet_writer', p.oid, 'EXECUTE')",
        [function, function],
    ).fetchall()
    assert granted == []


async def test_finding3_a_read_only_call_writes_no_wal_message(
    call: Callable[..., Any], admin: psycopg.Connection[Any]
) -> None:
    before = admin.execute("SELECT pg_current_wal_lsn()").fetchone()
    assert before is not None
    start = before[0]
    with anyio.fail_after(20):
        result = await call(
            "run_query", {"sql": "SELECT pg_logical_emit_message(false, 'x', repeat('w', 20000000))"}
        )
    assert result.is_error
    assert "permission denied for function pg_logical_emit_message" in result.content[0].text
    query = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)::int8"
    after = admin.execute(query, [start]).fetchone()
    assert after is not None
    written = after[0]
    assert written < 1_000_000  # 20 MB would have been written before


async def test_finding3_temp_files_are_capped_for_the_callers(
    admin_url: str, db_url: str, make_settings: Callable[..., Any], call: Callable[..., Any]
) -> None:
    shown = await call("run_query", {"sql": "SELECT current_setting('temp_file_limit')"})
    assert shown.structured_content["rows"] == [[TEMP_FILE_LIMIT]]
    # the same limit, made small, stops a spilling sort instead of letting it fill the disk
    with psycopg.connect(admin_url, autocommit=True) as su:
        su.execute("ALTER ROLE fleet_authenticator SET temp_file_limit = '1MB'")
        try:
            settings = make_settings(pool_min_size=0, pool_max_size=1, statement_timeout_ms=20000)
            db = Database(settings, db_url)
            await db.open()
            try:
                with acting_as(identity("bob", READER, audience=AUD)), anyio.fail_after(30):
                    async with Client(build_server(settings, db)) as client:
                        result = await client.call_tool(
                            "run_query",
                            {"sql": "SELECT g FROM generate_series(1, 400000) g ORDER BY random() LIMIT 1"},
                        )
            finally:
                await db.close()
        finally:
            su.execute(f"ALTER ROLE fleet_authenticator SET temp_file_limit = '{TEMP_FILE_LIMIT}'")
    assert result.is_error
    assert "temp_file_limit" in text_of(result)


def _rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


async def test_finding4_a_huge_value_leaves_no_lasting_memory(
    db_url: str, make_settings: Callable[..., Any]
) -> None:
    settings = make_settings(pool_min_size=1, pool_max_size=1, statement_timeout_ms=30000)
    db = Database(settings, db_url)
    await db.open()
    mcp = build_server(settings, db)

    async def run(sql: str) -> Any:
        with acting_as(identity("bob", READER, audience=AUD)):
            async with Client(mcp) as client:
                return (await client.call_tool("run_query", {"sql": sql})).structured_content

    try:
        with anyio.fail_after(60):
            assert (await run("SELECT repeat('x', 100000)"))["truncated"] is False  # warm: pool, caches
            gc.collect()
            baseline = _rss()
            result = await run("SELECT repeat('x', 100000000)")
            assert result["truncated"] is True
            assert result["rows"] == []
            gc.collect()
            grown = _rss() - baseline
            assert grown < 20 * 1024 * 1024, f"RSS grew by {grown / 1e6:.0f} MB"
            assert (await run("SELECT 1"))["rows"] == [[1]]  # the pool recovered
    finally:
        await db.close()


def test_finding2_provisioning_undoes_what_a_role_did_to_itself(admin_url: str, db_url: str) -> None:
    # what the attack run committed before the allow-list, done here as a superuser
    with psycopg.connect(admin_url, autocommit=True) as su:
        su.execute("ALTER ROLE fleet_writer PASSWORD 'pwned-password'")
        su.execute("ALTER ROLE fleet_writer SET search_path = evil")
        su.execute("ALTER ROLE fleet_reader SET work_mem = '1GB'")
    password = str(psycopg.conninfo.conninfo_to_dict(db_url)["password"])
    provision(admin_url, dbname="fleet_test", password=password, demo=False)
    with psycopg.connect(admin_url, autocommit=True) as su:
        passwords = su.execute(
            "SELECT rolname, rolpassword IS NULL, rolcanlogin FROM pg_authid "
            "WHERE rolname IN ('fleet_reader', 'fleet_writer') ORDER BY 1"
        ).fetchall()
        settings = su.execute(
            "SELECT setrole::regrole::text, setconfig FROM pg_db_role_setting "
            "WHERE setrole IN ('fleet_reader'::regrole, 'fleet_writer'::regrole) ORDER BY 1"
        ).fetchall()
    assert passwords == [("fleet_reader", True, False), ("fleet_writer", True, False)]
    assert settings == [
        ("fleet_reader", [f"temp_file_limit={TEMP_FILE_LIMIT}"]),
        ("fleet_writer", [f"temp_file_limit={TEMP_FILE_LIMIT}"]),
    ]
