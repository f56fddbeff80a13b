"""A database outage is answered at once, and the server is back soon after the database (finding 12.9).

PostgreSQL sits behind a TCP switch here: cutting it resets every connection and refuses new ones, as a
stopped or restarted server does, without stopping the session's shared cluster.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import psycopg
from anyio.abc import SocketStream, TaskGroup
from mcp import Client

from fleet_core.testing import acting_as, free_port, identity, text_of
from fleet_db import Database, build_server

AUD = "http://127.0.0.1:8700/mcp/db"


class Switch:
    """127.0.0.1:<port> → PostgreSQL, until `cut()`; `restore()` listens again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.scope: anyio.CancelScope | None = None

    async def restore(self, tg: TaskGroup) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=self.port)
        ready = anyio.Event()

        async def serve() -> None:
            with anyio.CancelScope() as self.scope:
                ready.set()
                async with listener, anyio.create_task_group() as conns:
                    await listener.serve(self._pipe, task_group=conns)

        tg.start_soon(serve)
        await ready.wait()

    def cut(self) -> None:
        assert self.scope is not None
        self.scope.cancel()

    async def _pipe(self, client: SocketStream) -> None:
        async with client, await anyio.connect_tcp(*self.target) as server, anyio.create_task_group() as tg:

            async def copy(src: SocketStream, dst: SocketStream) -> None:
                try:
                    async for chunk in src:
                        await dst.send(chunk)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    pass
                tg.cancel_scope.cancel()

            tg.start_soon(copy, client, server)
            tg.start_soon(copy, server, client)


async def test_finding9_an_outage_is_refused_within_a_second_and_recovery_is_quick(
    db_url: str, make_settings: Any
) -> None:
    parts = psycopg.conninfo.conninfo_to_dict(db_url)
    switch = Switch((str(parts.get("host") or "127.0.0.1"), int(parts.get("port") or 5432)))
    url = psycopg.conninfo.make_conninfo(db_url, host="127.0.0.1", port=switch.port)
    settings = make_settings(pool_min_size=1, pool_max_size=2, pool_timeout_seconds=10)
    async with anyio.create_task_group() as tg:
        await switch.restore(tg)
        db = Database(settings, url)
        await db.open()
        await db.pool.wait(timeout=10)
        mcp = build_server(settings, db)

        async def query() -> tuple[bool, str, float]:
            started = time.monotonic()
            with acting_as(identity("bob", "db:read", audience=AUD)), anyio.fail_after(15):
                async with Client(mcp) as client:
                    result = await client.call_tool("run_query", {"sql": "SELECT 1"})
            return bool(result.is_error), text_of(result), time.monotonic() - started

        try:
            assert (await query())[0] is False
            switch.cut()
            refusals = [await query() for _ in range(3)]
            for failed, text, _ in refusals:
                assert failed
                assert "database unavailable" in text
            # the pool's full wait is 10 s; once a connection has failed, the answer is immediate
            # (about 0.5 s; the bound allows for a loaded machine)
            assert max(took for _, _, took in refusals) < 2.0, refusals
            await switch.restore(tg)
            back = time.monotonic()
            for _ in range(100):
                if not (await query())[0]:
                    break
                await anyio.sleep(0.1)
            recovered = time.monotonic() - back
            assert recovered < 5.0  # the pool retries at least every second
        finally:
            await db.close()
            switch.cut()
