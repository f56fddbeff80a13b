"""fleet-db: a 10,000-row read through the tool vs. raw psycopg, and calls/s for a one-row query.

    uv run python bench/db_bench.py [--reads 15] [--seconds 5] [--concurrency 8]

A throwaway embedded PostgreSQL gets the demo schema plus demo.bench_rows (10,000 rows, 6 columns:
int, text, numeric, timestamptz, bool, text). `fleet-db` runs in its own process (uvloop + httptools,
gateway-secret trust, scope gate, audit) on loopback; requests go over real HTTP as JSON-RPC tools/call.

- json_agg:   the floor (issue 18): PostgreSQL builds the JSON itself, `SELECT json_agg(t) FROM (…) t`, as
              the caller's role (SET LOCAL ROLE fleet_reader) in a READ ONLY transaction; the text is
              fetched, not parsed
- raw:        psycopg AsyncConnection, SELECT * … fetchall() + json.dumps(rows, default=str)
- tool/http:  POST tools/call run_query → fleet-db → PostgreSQL (caller's role, READ ONLY, caps) → the
              whole JSON response received (like json_agg: not parsed); then again with the client's
              json.loads
- tool/mcp:   the same through the MCP SDK client (adds its own output-schema validation)
- one-row:    run_query "SELECT 1" calls/s over HTTP, sequential and with `--concurrency` connections

json_agg and the tool over HTTP are sampled in turns (json_agg, tool, tool + loads, json_agg, ...), so the
ratio holds even when the machine's load changes during the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
import psycopg
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from fleet_core.testing import MCP_HEADERS, call_body, free_port, identity, identity_headers
from fleet_db.embedded import EmbeddedPostgres
from fleet_db.provision import provision

SECRET = "bench-gateway-secret-0123456789"  # noqa: S105 - a throwaway benchmark value
PUBLIC_URL = "http://127.0.0.1:8700/mcp/db"
QUERY = "SELECT * FROM demo.bench_rows"
JSON_AGG = "SELECT json_agg(t) FROM (SELECT * FROM demo.bench_rows) t"

BENCH_TABLE = """
CREATE TABLE demo.bench_rows AS
SELECT g AS id, 'customer-' || g AS name, round((g * 1.37)::numeric, 2) AS amount,
       timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute' AS created_at, g % 3 = 0 AS flagged,
       md5(g::text) AS note
FROM generate_series(1, 10000) g;
ANALYZE demo.bench_rows;
GRANT SELECT ON demo.bench_rows TO fleet_reader;
"""


def timed(samples: list[float]) -> str:
    median, best = statistics.median(samples) * 1000, min(samples) * 1000
    return f"median {median:7.1f} ms  (min {best:.1f}, n={len(samples)})"


async def repeat(n: int, fn: Callable[[], Awaitable[int]]) -> list[float]:
    return (await in_turns(n, fn))[0]


async def in_turns(n: int, *fns: Callable[[], Awaitable[int]]) -> list[list[float]]:
    """n samples of each fn, taken in turns (a, b, a, b, ...) so that a change in the machine's load
    slows them alike and their ratio stays meaningful."""
    for fn in fns:
        await fn()  # warm-up
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(n):
        for fn, taken in zip(fns, samples, strict=True):
            started = time.perf_counter()
            rows = await fn()
            taken.append(time.perf_counter() - started)
            assert rows == 10_000, rows
    return samples


TARGET_JSON_AGG_RATIO = 1.3


async def measure(admin_url: str, base: str, reads: int, seconds: float, concurrency: int) -> None:
    headers = MCP_HEADERS | identity_headers(identity("alice", "db:read", audience=PUBLIC_URL))
    headers["X-MCP-Gateway-Secret"] = SECRET
    url = base + "/mcp"
    async with (
        await psycopg.AsyncConnection.connect(admin_url) as conn,
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
    ):

        async def raw() -> int:
            cur = await conn.execute(QUERY)
            rows = await cur.fetchall()
            return len(json.loads(json.dumps(rows, default=str)))

        raw_samples = await repeat(reads, raw)
        conn.adapters.register_loader("json", psycopg.types.string.TextLoader)  # the text, unparsed
        floor_text = ""

        async def json_agg() -> int:
            nonlocal floor_text
            async with conn.transaction():
                await conn.execute("SET TRANSACTION READ ONLY")
                await conn.execute("SET LOCAL ROLE fleet_reader")
                row = await (await conn.execute(JSON_AGG)).fetchone()
            assert row is not None
            floor_text = row[0]
            return 10_000 if floor_text.startswith("[") else 0

        request = call_body("run_query", {"sql": QUERY})
        answer = await http.post(url, json=request)
        checked = answer.json()["result"]
        assert not checked.get("isError"), checked
        assert len(checked["structuredContent"]["rows"]) == 10_000

        async def tool_http() -> int:
            response = await http.post(url, json=request)
            assert response.status_code == 200
            assert len(response.content) > len(floor_text)
            return 10_000

        async def tool_http_parsed() -> int:
            response = await http.post(url, json=request)
            result = response.json()["result"]
            assert not result.get("isError"), result
            return len(result["structuredContent"]["rows"])

        # the floor and the tool in turns: the ratio is the target, so both see the same machine
        agg_samples, http_samples, parsed_samples = await in_turns(
            reads, json_agg, tool_http, tool_http_parsed
        )

        async with Client(streamable_http_client(url, http_client=http)) as client:

            async def tool_mcp() -> int:
                result = await client.call_tool("run_query", {"sql": QUERY})
                return len(result.structured_content["rows"])

            mcp_samples = await repeat(max(3, reads // 3), tool_mcp)

    floor = statistics.median(agg_samples)
    print(
        f"10,000-row read (6 columns); ratio = median / json_agg's median ({len(floor_text):,} bytes of JSON)"
    )
    print(f"  PostgreSQL json_agg      : {timed(agg_samples)}   (the floor)")
    raw_ratio = statistics.median(raw_samples) / floor
    print(f"  raw psycopg + json       : {timed(raw_samples)}   ratio {raw_ratio:.2f}x")
    rows = (
        ("tool over HTTP           ", http_samples),
        ("tool over HTTP + loads   ", parsed_samples),
        ("tool via MCP client      ", mcp_samples),
    )
    for label, samples in rows:
        print(f"  {label}: {timed(samples)}   ratio {statistics.median(samples) / floor:.2f}x")
    ratio = statistics.median(http_samples) / floor
    verdict = "PASS" if ratio <= TARGET_JSON_AGG_RATIO else "FAIL"
    print(f"  target: tool over HTTP <= {TARGET_JSON_AGG_RATIO}x json_agg: {ratio:.2f}x {verdict}")

    async def worker(http: httpx2.AsyncClient, body: Any, deadline: float, latencies: list[float]) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await http.post(url, json=body)
            assert response.status_code == 200, response.text
            assert not response.json()["result"].get("isError"), response.text
            latencies.append(time.perf_counter() - started)

    calls = {
        "one-row run_query": call_body("run_query", {"sql": "SELECT 1"}),
        "whoami (no database)": call_body("whoami"),
    }
    for label, body in calls.items():
        for conc in sorted({1, concurrency}):
            limits = httpx2.Limits(max_connections=conc, max_keepalive_connections=conc)
            async with httpx2.AsyncClient(headers=headers, timeout=30, limits=limits) as http:
                await http.post(url, json=body)
                latencies: list[float] = []
                deadline = time.perf_counter() + seconds
                await asyncio.gather(*(worker(http, body, deadline, latencies) for _ in range(conc)))
            p50 = statistics.median(latencies) * 1000
            p99 = statistics.quantiles(latencies, n=100)[98] * 1000
            rate = len(latencies) / seconds
            print(f"{label:22} concurrency {conc}: {rate:6.0f} calls/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reads", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with EmbeddedPostgres() as pg:
        url = provision(pg.admin_url, password=secrets.token_urlsafe(16))
        admin_url = psycopg.conninfo.make_conninfo(pg.admin_url, dbname="fleet")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(BENCH_TABLE)
        port = free_port()
        env = os.environ | {
            "FLEET_DB_DATABASE_URL": url,
            "FLEET_DB_PUBLIC_URL": PUBLIC_URL,
            "FLEET_DB_PORT": str(port),
            "FLEET_DB_GATEWAY_SECRETS": SECRET,
            "FLEET_DB_MAX_ROWS": "10000",
            "FLEET_DB_MAX_BYTES": "50000000",
            "FLEET_DB_POOL_MAX_SIZE": str(max(args.concurrency, 2)),
            "FLEET_DB_MAX_CONCURRENT_CALLS": str(max(args.concurrency, 4)),  # one bench caller, N at once
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "fleet_db"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx2.get(base + "/readyz", timeout=2).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("fleet-db did not become ready")
                time.sleep(0.1)
            asyncio.run(measure(admin_url, base, args.reads, args.seconds, args.concurrency))
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
