"""Tool calls per second and latency for a no-op tool: the core's app factory vs. SDK defaults.

    uv run python bench/core_bench.py [--calls 6000] [--concurrency 8]

Each server runs in its own process on loopback; the load generator keeps `concurrency`
HTTP/1.1 keep-alive connections busy with tools/call requests and records each latency.
- sdk:  a plain MCPServer, sync no-op tool, stateless JSON, uvicorn's pure-Python defaults
        (asyncio loop + h11: what you get from `pip install mcp`).
- core: the same tool, async, through fleet_core.build_app with every check on
        (gateway-secret trust, identity headers, scope gate, body limit, audit line), served by
        fleet_core.serve (uvloop + httptools). Audit lines go to /dev/null.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

SECRET = "bench-gateway-secret-0123456789"  # noqa: S105 - a throwaway benchmark value
PUBLIC_URL = "http://127.0.0.1:8700/mcp/bench"


def serve(kind: str, port: int) -> None:
    if kind == "sdk":
        _serve_sdk(port)
    else:
        _serve_fleet(port)


def _serve_sdk(port: int) -> None:
    import uvicorn
    from mcp.server.mcpserver import MCPServer

    mcp = MCPServer("bench", log_level="WARNING")

    @mcp.tool()
    def noop() -> str:
        return "ok"

    app = mcp.streamable_http_app(stateless_http=True, json_response=True)
    uvicorn.run(app, host="127.0.0.1", port=port, loop="asyncio", http="h11", log_level="warning")


def _serve_fleet(port: int) -> None:
    from fleet_core import ServerSettings, build_app, create_server, requires
    from fleet_core import serve as fleet_serve

    mcp = create_server("bench")

    @mcp.tool(meta=requires("bench:read"))
    async def noop() -> str:
        return "ok"

    settings = ServerSettings(public_url=PUBLIC_URL, gateway_secrets=SECRET, port=port)
    fleet_serve(build_app(mcp, settings), settings)


MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


def request_bytes(port: int, era: str = "2026-07-28") -> bytes:
    """One tools/call as the SDK's client sends it in that protocol era."""
    params: dict[str, object] = {"name": "noop", "arguments": {}}
    if era == "2026-07-28":
        params["_meta"] = MODERN_META
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}).encode()
    expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {
        "Host": f"127.0.0.1:{port}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": era,
        "X-MCP-Subject": "alice",
        "X-MCP-Scope": "bench:read",
        "X-MCP-Issuer": "http://127.0.0.1:8701",
        "X-MCP-Audience": PUBLIC_URL,
        "X-MCP-Client": "bench",
        "X-MCP-Token-Id": "bench-token",
        "X-MCP-Expires": expires,
        "X-MCP-Gateway-Secret": SECRET,
        "Content-Length": str(len(body)),
    }
    if era == "2026-07-28":
        headers |= {"Mcp-Method": "tools/call", "Mcp-Name": "noop"}
    head = "POST /mcp HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length)
    if status != 200 or b'"isError":true' in body:
        raise RuntimeError(f"unexpected response {status}: {body[:200]!r}")
    return status


async def load(port: int, calls: int, concurrency: int, era: str) -> tuple[float, list[float]]:
    payload = request_bytes(port, era)
    latencies: list[float] = []
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                writer.write(payload)
                await read_response(reader)
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


def wait_ready(port: int, deadline: float) -> None:
    import socket

    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on port {port} did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux): robust to other load on the machine."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(kind: str, port: int, calls: int, concurrency: int, era: str) -> dict[str, float]:
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    with open(os.devnull, "w") as devnull:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind, "--port", str(port)], env=env, stderr=devnull
        )
    try:
        wait_ready(port, time.monotonic() + 20)
        asyncio.run(load(port, min(500, calls), concurrency, era))  # warm-up
        cpu_before = cpu_seconds(proc.pid)
        elapsed, latencies = asyncio.run(load(port, calls, concurrency, era))
        cpu = cpu_seconds(proc.pid) - cpu_before
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    latencies.sort()
    return {
        "calls_per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "cpu_us_per_call": cpu / len(latencies) * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--era", nargs="+", default=["2026-07-28", "2025-11-25"], choices=["2026-07-28", "2025-11-25"]
    )
    parser.add_argument("--serve", choices=["sdk", "core"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    for offset, era in enumerate(args.era):
        sdk = measure("sdk", 18931 + 2 * offset, args.calls, args.concurrency, era)
        core = measure("core", 18932 + 2 * offset, args.calls, args.concurrency, era)
        print(
            f"\nno-op tool, protocol {era}, {args.calls} calls, "
            f"{args.concurrency} concurrent connections, loopback"
        )
        print(
            f"{'':18}{'calls/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'server CPU us/call':>20}{'calls/s per core':>18}"
        )
        for name, row in (("SDK defaults", sdk), ("fleet_core app", core)):
            per_core = 1e6 / row["cpu_us_per_call"]
            print(
                f"{name:18}{row['calls_per_s']:>9.0f}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
                f"{row['cpu_us_per_call']:>20.0f}{per_core:>18.0f}"
            )
        print(f"ratio core/sdk, wall-clock calls/s: {core['calls_per_s'] / sdk['calls_per_s']:.2f}x")
        print(f"ratio core/sdk, server CPU per call: {sdk['cpu_us_per_call'] / core['cpu_us_per_call']:.2f}x")


if __name__ == "__main__":
    main()
