"""Benchmark: what the dev gateway's hop adds (p50/p99, direct vs. through it) and calls/s through it.

    uv run python bench/gateway_bench.py                 # 8 connections, 2000 calls per target
    uv run python bench/gateway_bench.py --calls 5000 --rate 300 --upstream mcp

Two runs: latency at a fixed request rate (open loop: the hop's own cost) and flat out (closed loop:
calls/s, where p50 is mostly queueing behind the busiest process).

Everything runs on loopback. The upstream and the gateway are separate processes (uvicorn, uvloop,
httptools); the load generator is this process. "direct" sends what the gateway would send upstream
(X-MCP-* headers + the gateway secret); "gateway" sends a bearer token to the gateway, which verifies
it (JWKS and verified tokens cached after the first call), rewrites the headers and proxies. Each
worker alternates the two targets call by call, so both see the same machine load. Upstreams:
  raw  a minimal ASGI app answering a fixed JSON-RPC result: isolates the hop itself
  mcp  a fleet_core server answering `whoami` (stateless MCP over HTTP): the real thing
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2

SECRET = "bench-gateway-secret-0123456789abcdef"  # noqa: S105 - a throwaway loopback secret
SELF = str(Path(__file__).resolve())
NAME = "bench"
RESULT = b'{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"subject":"alice"}}}'
BODY = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}
HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-11-25",
}


# ------------------------------------------------------------------ the processes under test


def serve_upstream(port: int, kind: str, issuer: str, gateway_port: int) -> None:
    import uvicorn

    if kind == "raw":

        async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Any) -> None:
            if scope["type"] != "http":
                return
            more = True
            while more:
                more = (await receive()).get("more_body", False)
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(RESULT)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": RESULT})

        uvicorn.run(
            app,
            host="127.0.0.1",
            port=port,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        return
    from fleet_core import ServerSettings, build_app, create_server, serve

    settings = ServerSettings.model_validate(
        {
            "public_url": f"http://127.0.0.1:{gateway_port}/mcp/{NAME}",
            "port": port,
            "trust_mode": "gateway-secret",
            "gateway_secrets": [SECRET],
            "issuer": issuer,
        }
    )
    serve(build_app(create_server(NAME), settings), settings)


def serve_gateway(port: int, upstream: str, issuer: str) -> None:
    import uvicorn

    from fleet_frontdoor.gateway import build_gateway, uvicorn_config
    from fleet_frontdoor.manifest import Manifest

    manifest = Manifest.model_validate(
        {
            "gateway": {"origin": f"http://127.0.0.1:{port}"},
            "issuer": {"url": issuer},
            "servers": [{"name": NAME, "upstream": upstream, "scopes": [f"{NAME}:read"]}],
        }
    )
    config = uvicorn_config(build_gateway(manifest, secret=SECRET), port=port)
    config.loop, config.http = "uvloop", "httptools"
    profile = os.environ.get("BENCH_PROFILE_GATEWAY")  # a path: write a cProfile of the gateway there
    if not profile:
        uvicorn.Server(config).run()
        return
    import cProfile
    import signal

    def stop(*_: object) -> None:  # uvicorn re-raises SIGTERM after its shutdown: end here instead
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    with cProfile.Profile() as prof:
        try:
            uvicorn.Server(config).run()
        finally:
            prof.dump_stats(profile)


# ------------------------------------------------------------------ the load generator


async def wait_up(url: str) -> None:
    async with httpx2.AsyncClient(timeout=1) as http:
        with anyio.fail_after(30):
            while True:
                try:
                    await http.get(url)
                    return
                except httpx2.TransportError:
                    await anyio.sleep(0.05)


class Connection:
    """A bare keep-alive HTTP/1.1 connection replaying one pre-built request (like wrk does), so the
    load generator spends as little CPU as possible and the figures show the servers, not the client."""

    def __init__(self, url: str, headers: dict[str, str], body: bytes) -> None:
        parts = httpx2.URL(url)
        self.host, self.port = parts.host, parts.port or 80
        lines = [f"POST {parts.raw_path.decode()} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()] + [f"Content-Length: {len(body)}"]
        self.request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    async def __aenter__(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.writer.close()

    async def call(self) -> int:
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.lower().split(b"\r\n"):
            if line.startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if b"transfer-encoding: chunked" in head.lower():
            raise SystemExit("chunked responses are not expected here")
        await self.reader.readexactly(length)
        return status


async def load(
    targets: dict[str, tuple[str, dict[str, str]]], calls: int, concurrency: int, rate: float | None = None
) -> dict[str, tuple[list[float], float]]:
    """`calls` POSTs per target over `concurrency` workers, each with one keep-alive connection per
    target, alternating targets call by call so both see the same machine load. Per-call latencies
    (s) and the time spent on each target's calls (per worker). With `rate`, rounds start on a fixed
    schedule (`rate` rounds/s over all workers: open loop) instead of back to back (closed loop)."""
    body = json.dumps(BODY).encode()
    latencies: dict[str, list[float]] = {name: [] for name in targets}
    busy: dict[str, float] = dict.fromkeys(targets, 0.0)
    remaining = calls
    started = time.perf_counter()
    issued = 0

    async def worker() -> None:
        nonlocal remaining, issued
        async with contextlib.AsyncExitStack() as stack:
            connections = {
                name: await stack.enter_async_context(Connection(url, headers, body))
                for name, (url, headers) in targets.items()
            }
            while remaining > 0:
                remaining -= 1
                if rate:
                    issued += 1
                    await anyio.sleep(max(0.0, started + issued / rate - time.perf_counter()))
                for name, connection in connections.items():
                    start = time.perf_counter()
                    status = await connection.call()
                    took = time.perf_counter() - start
                    latencies[name].append(took)
                    busy[name] += took
                    if status != 200:
                        raise SystemExit(f"{name}: HTTP {status}")

    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    # calls/s per target: calls over the (per-worker) time spent on that target's calls
    return {name: (latencies[name], busy[name] / concurrency) for name in targets}


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of a process (Linux /proc); 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: int) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000
        if q < 100
        else max(values) * 1000
    )


async def bench(args: argparse.Namespace) -> None:
    from fleet_core.testing import JwtIssuer, free_port, identity, identity_headers

    async with JwtIssuer() as issuer:
        upstream_port, gateway_port = free_port(), free_port()
        upstream = f"http://127.0.0.1:{upstream_port}"
        gateway = f"http://127.0.0.1:{gateway_port}"
        me = [sys.executable, SELF]
        up_args = ["--upstream", args.upstream, "--issuer", issuer.url, "--gateway-port", str(gateway_port)]
        gw_args = ["--upstream-url", upstream, "--issuer", issuer.url]
        procs = [
            await anyio.open_process(
                [*me, "--serve-upstream", str(upstream_port), *up_args], stdout=None, stderr=None
            ),
            await anyio.open_process(
                [*me, "--serve-gateway", str(gateway_port), *gw_args], stdout=None, stderr=None
            ),
        ]
        try:
            await wait_up(upstream + "/healthz")
            await wait_up(gateway + "/healthz")
            resource = f"{gateway}/mcp/{NAME}"
            who = identity("alice", f"{NAME}:read", audience=resource, issuer=issuer.url, expires_in=3600)
            direct = {**HEADERS, **identity_headers(who), "X-MCP-Gateway-Secret": SECRET}
            token = issuer.mint(resource, scope=f"{NAME}:read", exp=int(time.time()) + 3600)
            through = {**HEADERS, "Authorization": f"Bearer {token}"}
            targets = {"direct": (upstream + "/mcp", direct), "gateway": (resource, through)}
            await load(targets, args.warmup, args.concurrency)  # connections, JWKS, code paths
            paced = await load(targets, args.calls, args.concurrency, rate=args.rate)
            cpu_before = cpu_seconds(procs[1].pid)
            flat_out = await load(targets, args.calls, args.concurrency)
            gateway_cpu = (cpu_seconds(procs[1].pid) - cpu_before) / args.calls
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                await proc.wait()

    print(f"\ngateway hop: upstream={args.upstream}, {args.concurrency} connections, loopback")
    for title, results in (
        (f"latency at {args.rate:g} calls/s per target (open loop, {args.calls} calls)", paced),
        (f"saturated (closed loop, {args.calls} calls)", flat_out),
    ):
        print(f"\n{title}")
        print(f"{'target':<10}{'p50 ms':>10}{'p99 ms':>10}{'calls/s':>10}")
        for name, (latencies, busy) in results.items():
            p50, p99 = pct(latencies, 50), pct(latencies, 99)
            rate = (
                f"{len(latencies) / busy:.0f}" if results is flat_out else "-"
            )  # paced: rate is the setting
            print(f"{name:<10}{p50:>10.3f}{p99:>10.3f}{rate:>10}")
        added50 = pct(results["gateway"][0], 50) - pct(results["direct"][0], 50)
        added99 = pct(results["gateway"][0], 99) - pct(results["direct"][0], 99)
        print(f"{'added':<10}{added50:>10.3f}{added99:>10.3f}")
    added = pct(paced["gateway"][0], 50) - pct(paced["direct"][0], 50)
    verdict = "met" if added <= 1.0 else "NOT met"
    print(f"\ntarget: <= 1 ms added at p50 -> {verdict} ({added:.3f} ms, open loop)")
    if gateway_cpu > 0:
        print(f"gateway CPU per proxied call: {gateway_cpu * 1e6:.0f} µs (user+system, from /proc)")
    load1, load5, _ = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load1:.1f} (1 min) / {load5:.1f} (5 min)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=200.0, help="calls/s per target for the latency run")
    parser.add_argument("--upstream", choices=["raw", "mcp"], default="raw")
    parser.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-gateway", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--upstream-url", help=argparse.SUPPRESS)
    parser.add_argument("--gateway-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--issuer", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        serve_upstream(args.serve_upstream, args.upstream, args.issuer, args.gateway_port)
    elif args.serve_gateway:
        serve_gateway(args.serve_gateway, args.upstream_url, args.issuer)
    else:
        anyio.run(bench, args, backend_options={"use_uvloop": True})


if __name__ == "__main__":
    main()
