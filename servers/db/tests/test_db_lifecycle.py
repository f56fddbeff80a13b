"""Surviving a PostgreSQL restart, the embedded cluster, and the `fleet dev` hook."""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import secrets
import subprocess
import sys
from collections.abc import Callable

import anyio
import httpx2
import psycopg
import pytest

from fleet_core import BackendError
from fleet_core.testing import TEST_SECRET, connect, free_port, identity
from fleet_db import Database, dev, ops
from fleet_db.backend import CallContext
from fleet_db.embedded import EmbeddedPostgres
from fleet_db.provision import provision
from fleet_db.settings import DbSettings

AUD = "http://127.0.0.1:8700/mcp/db"
ALICE = CallContext(role="fleet_reader", subject="alice", claims={"sub": "alice"})


async def tickets_seen(db: Database, who: CallContext = ALICE) -> int:
    async with db.session(who) as conn:
        row = await (await conn.execute("SELECT count(*) FROM demo.tickets")).fetchone()
    assert row is not None
    return int(row[0])


async def test_the_pool_survives_a_postgresql_restart(
    make_settings: Callable[..., DbSettings], tmp_path: pathlib.Path
) -> None:
    with EmbeddedPostgres(tmp_path) as pg:
        url = provision(pg.admin_url, password=secrets.token_urlsafe(16))
        db = Database(make_settings(pool_min_size=2, pool_max_size=2, pool_timeout_seconds=2), url)
        try:
            with anyio.fail_after(60):
                assert await tickets_seen(db) == 4
                await anyio.to_thread.run_sync(pg.restart)  # every pooled connection is now dead
                assert await tickets_seen(db) == 4
                await anyio.to_thread.run_sync(pg.stop)
                with pytest.raises(BackendError, match="database unavailable"):
                    await tickets_seen(db)
                await anyio.to_thread.run_sync(pg.start)
                assert await tickets_seen(db) == 4
        finally:
            await db.close()


async def test_dev_hook_yields_a_working_database_url(tmp_path: pathlib.Path) -> None:
    with anyio.fail_after(60):
        async with dev.backend(tmp_path) as env:
            url = env["FLEET_DB_DATABASE_URL"]
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                row = await (
                    await conn.execute(
                        "SELECT current_user, rolinherit FROM pg_roles WHERE rolname = current_user"
                    )
                ).fetchone()
        assert row == ("fleet_authenticator", False)  # the NOINHERIT login role
        with pytest.raises(psycopg.OperationalError):
            await psycopg.AsyncConnection.connect(url, connect_timeout=2)  # stopped on exit


def test_the_login_role_owns_nothing_and_cannot_read_tables_itself(db_url: str) -> None:
    with (
        psycopg.connect(db_url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("SELECT * FROM demo.tickets")


async def test_fleet_db_without_a_url_serves_a_throwaway_embedded_database() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_DB_")} | {
        "FLEET_DB_PORT": str(port),
        "FLEET_DB_PUBLIC_URL": AUD,
        "FLEET_DB_GATEWAY_SECRETS": TEST_SECRET,
    }
    process = await anyio.open_process([sys.executable, "-m", "fleet_db"], env=env)
    try:
        with anyio.fail_after(60):
            async with httpx2.AsyncClient() as http:
                while True:
                    with contextlib.suppress(httpx2.TransportError):
                        if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                            break
                    assert process.returncode is None, "fleet-db exited"
                    await anyio.sleep(0.1)
            async with connect(
                f"http://127.0.0.1:{port}/mcp", identity=identity("bob", "db:read", audience=AUD)
            ) as c:
                result = await c.call_tool("run_query", {"sql": "SELECT DISTINCT team FROM demo.tickets"})
    finally:
        process.terminate()
        with anyio.fail_after(30):
            await process.wait()
    assert process.stderr is not None
    log = b""
    with anyio.fail_after(10), contextlib.suppress(anyio.EndOfStream):
        while True:
            log += await process.stderr.receive()
    assert result.structured_content["rows"] == [["payments"]]
    match = re.search(r"THROWAWAY embedded PostgreSQL on 127\.0\.0\.1:(\d+)", log.decode())
    assert match, log
    with pytest.raises(OSError, match="connection attempts failed"):  # the cluster went away with it
        await anyio.connect_tcp("127.0.0.1", int(match[1]))


async def test_fleet_db_stdio_acts_as_the_configured_local_user(db_url: str) -> None:
    from mcp import Client, StdioServerParameters

    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_DB_")} | {
        "FLEET_DB_DATABASE_URL": db_url,
        "FLEET_DB_STDIO_USER": "bob",
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "fleet_db", "--stdio"], env=env)
    with anyio.fail_after(30):
        async with Client(params) as client:
            teams = await client.call_tool("run_query", {"sql": "SELECT DISTINCT team FROM demo.tickets"})
            write = await client.call_tool("execute_statement", {"sql": "DELETE FROM demo.tickets"})
    assert teams.structured_content["rows"] == [["payments"]]
    assert write.is_error  # FLEET_DB_STDIO_SCOPES defaults to db:read


async def test_without_read_all_stats_health_hides_other_sessions_and_says_so(
    make_settings: Callable[..., DbSettings], tmp_path: pathlib.Path
) -> None:
    with EmbeddedPostgres(tmp_path) as pg:
        url = provision(pg.admin_url, password=secrets.token_urlsafe(16), read_all_stats=False)
        db = Database(make_settings(), url)
        other = await psycopg.AsyncConnection.connect(url, autocommit=True)
        try:
            with anyio.fail_after(30):
                await other.execute("BEGIN")
                await other.execute("SELECT 'secret' /* someone else's literal */")
                async with db.session(ALICE) as conn:
                    health = await ops.database_health(conn, ALICE.role, long_running_seconds=0)
        finally:
            await other.close()
            await db.close()
    assert health.notes == [
        "role fleet_reader is not in pg_read_all_stats: other sessions' queries are hidden"
    ]
    assert "secret" not in health.model_dump_json()


FAULTS = """
import resource, sys
import fleet_db.__main__ as main
if sys.argv[1] == "tuned":
    assert main.reuse_freed_memory()
def one_call():
    held = [b"x" * (4 << 20) for _ in range(3)]  # what a large result holds at once: ~12 MB of buffers
    del held
one_call()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    one_call()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.parametrize("mode", ["default", "tuned"])
def test_large_results_reuse_freed_memory_instead_of_faulting_in_new_pages(mode: str) -> None:
    # fleet-db's start-up (reuse_freed_memory) keeps glibc from returning the heap a large result used
    # and mapping it anew on the next call; glibc's defaults (the control) fault in every page each time.
    run = subprocess.run(
        [sys.executable, "-c", FAULTS, mode], capture_output=True, text=True, check=True, timeout=60
    )
    faults = int(run.stdout)
    if mode == "tuned":
        assert faults < 100
    else:
        assert faults > 5 * 2000  # 5 calls x ~3,000 pages of 4 KB


COLLECTIONS = """
import gc, sys
import fleet_db.__main__ as main
if sys.argv[1] == "tuned":
    main.collect_cycles_less_often()
runs = [0]
gc.callbacks.append(lambda phase, info: runs.__setitem__(0, runs[0] + (phase == "start")))
def one_call():  # what a 10,000-row read holds at once: a tuple per row, a list per row in the dump
    rows = [(i, f"customer-{i}", "1.37", "2026-01-01", True, "note") for i in range(10_000)]
    dumped = [list(r) for r in rows]
    del rows, dumped
for _ in range(5):
    one_call()
print(runs[0], gc.get_threshold()[0])
"""


@pytest.mark.parametrize("mode", ["default", "tuned"])
def test_a_large_result_no_longer_sets_off_the_cycle_collector(mode: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", COLLECTIONS, mode], capture_output=True, text=True, check=True, timeout=60
    )
    runs, threshold = map(int, run.stdout.split())
    if mode == "tuned":
        assert threshold == 50_000
        assert runs == 0
    else:
        assert runs > 5 * 20  # CPython's default (700): ~28 collections per call
