"""Issue 18, side by side in one run: calls/s of one no-op tools/call against the Python floor, the
SDK's defaults, FastMCP 2.x and the fleet core (both protocol eras, 1 and N workers); RSS and a leak
check; the latency fleet-gitea adds to a real tool. Every figure is printed with its target.

    uv run python bench/core_bench.py [--seconds 8] [--connections 8] [--leak-calls 100000] [--quick]

Load: `wrk` (Debian package, scripts/setup.d/50-wrk.sh) with 1 thread and `--connections` keep-alive
connections for `--seconds`, when it is installed; otherwise this script's own asyncio generator
(it says which). Each server runs in its own process on loopback:
- floor:   a raw ASGI app that parses the JSON body and answers JSON, on uvicorn + uvloop + httptools
- sdk:     a plain MCPServer, sync no-op tool, stateless JSON, uvicorn's defaults (`pip install mcp`)
- fastmcp: FastMCP 2.x in its own throwaway environment (`uv run --isolated --with 'fastmcp<3'`),
           stateless JSON (it speaks the 2025 protocol: asked with 2025-11-25 requests)
- core:    the same tool through fleet_core.build_app with every check on (gateway-secret trust,
           identity headers, scope gate, Host check, body limit, per-caller limit, audit line to
           /dev/null), served by fleet_core.serve (uvloop + httptools), with 1 and N workers
The ratios (each figure / the floor of the same run; for the rows with a target, a floor measured just
before the row, as a shared host's speed can drift within minutes) are what carries over between machines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

SECRET = "bench-gateway-secret-0123456789"  # noqa: S105 - a throwaway benchmark value
PUBLIC_URL = "http://127.0.0.1:8700/mcp/bench"
MODERN, LEGACY = "2026-07-28", "2025-11-25"
GITEA_URL = "http://127.0.0.1:8700/mcp/gitea"
GITEA_TOKEN = "bench-gitea-admin-token"  # noqa: S105 - the fake's token, a throwaway value

# The issue's targets (2-core machine, wrk, every check on). The ratios carry over between machines.
TARGET_MODERN, TARGET_LEGACY, TARGET_FLOOR_RATIO = 3600, 2500, 0.18
TARGET_RSS_MB, TARGET_LEAK_MB, TARGET_GITEA_P50_MS = 60, 5, 1.0


# ----------------------------------------------------------------------------------------- servers
def serve(kind: str, port: int, workers: int) -> None:
    if kind == "floor":
        _serve_floor(port)
    elif kind == "sdk":
        _serve_sdk(port)
    elif kind == "gitea":
        _serve_gitea(port)
    elif kind == "gitea-fake":
        _serve_gitea_fake(port)
    else:
        _serve_core(port, workers)


def _serve_floor(port: int) -> None:
    import uvicorn
    from starlette.types import Message, Receive, Scope, Send

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message: Message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        request = json.loads(body)
        payload = json.dumps(
            {"jsonrpc": "2.0", "id": request.get("id"), "result": {"echo": request}}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", log_level="warning")


def _serve_sdk(port: int) -> None:
    import uvicorn
    from mcp.server.mcpserver import MCPServer

    mcp = MCPServer("bench", log_level="WARNING")

    @mcp.tool()
    def noop() -> str:
        return "ok"

    app = mcp.streamable_http_app(stateless_http=True, json_response=True)
    uvicorn.run(app, host="127.0.0.1", port=port, loop="asyncio", http="h11", log_level="warning")


def _serve_core(port: int, workers: int) -> None:
    from fleet_core import ServerSettings, build_app, create_server, requires
    from fleet_core import serve as fleet_serve

    mcp = create_server("bench")

    @mcp.tool(meta=requires("bench:read"))
    async def noop() -> str:
        return "ok"

    settings = ServerSettings(public_url=PUBLIC_URL, gateway_secrets=SECRET, port=port, workers=workers)
    fleet_serve(build_app(mcp, settings), settings)


def _serve_gitea_fake(port: int) -> None:
    import uvicorn

    from fleet_gitea.fake import FakeGitea

    fake = FakeGitea(token=GITEA_TOKEN)
    fake.base_url = f"http://127.0.0.1:{port}"
    uvicorn.run(
        fake.app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        interface="asgi3",
        lifespan="off",
        log_level="warning",
    )


def _serve_gitea(port: int) -> None:
    from fleet_gitea.__main__ import main

    main()  # FLEET_GITEA_* from the environment (set by gitea_latency)


FASTMCP_SERVER = """
import sys, uvicorn
from fastmcp import FastMCP
mcp = FastMCP("bench")
@mcp.tool
def noop() -> str:
    return "ok"
app = mcp.http_app(path="/mcp", stateless_http=True, json_response=True)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


# ----------------------------------------------------------------------------------------- requests
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


def call_request(
    port: int, era: str, tool: str = "noop", arguments: dict[str, object] | None = None, *, fleet: bool = True
) -> tuple[dict[str, str], bytes]:
    """Headers and body of one tools/call as the SDK's client sends it in that protocol era, with what
    the front door adds (identity headers, gateway secret) when `fleet`."""
    params: dict[str, object] = {"name": tool, "arguments": arguments or {}}
    if era == MODERN:
        params["_meta"] = MODERN_META
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}).encode()
    headers = {
        "Host": f"127.0.0.1:{port}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": era,
    }
    if era == MODERN:
        headers |= {"Mcp-Method": "tools/call", "Mcp-Name": tool}
    if fleet:
        audience = GITEA_URL if tool != "noop" else PUBLIC_URL
        server = "gitea" if tool != "noop" else "bench"
        expires = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers |= {
            "X-MCP-Subject": "alice",
            "X-MCP-Scope": f"{server}:read",
            "X-MCP-Issuer": "http://127.0.0.1:8701",
            "X-MCP-Audience": audience,
            "X-MCP-Client": "bench",
            "X-MCP-Token-Id": "bench-token",
            "X-MCP-Expires": expires,
            "X-MCP-Gateway-Secret": SECRET,
        }
    return headers, body


def raw_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return status, await reader.readexactly(length)


def check_answer(status: int, body: bytes) -> None:
    if status != 200 or b'"isError":true' in body or b'"error"' in body:
        raise SystemExit(f"unexpected response {status}: {body[:300]!r}")


# --------------------------------------------------------------------------------- load generators
@dataclass
class Figures:
    calls_per_s: float
    p50_ms: float
    p99_ms: float
    calls: int
    calls_per_cpu_s: float = 0.0  # calls per CPU-second of the server's processes: robust to other load


def _lua_string(value: str) -> str:
    return "[==[" + value + "]==]"


def wrk_script(method: str, path: str, headers: dict[str, str], body: bytes, stop_after: int = 0) -> str:
    lines = [f"wrk.method = {_lua_string(method)}", f"wrk.path = {_lua_string(path)}"]
    lines += [
        f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items() if k != "Host"
    ]
    lines.append(f"wrk.body = {_lua_string(body.decode())}")
    if stop_after:
        lines += [
            "local answered = 0",
            "function response(status, headers, body)",
            "  answered = answered + 1",
            f"  if answered >= {stop_after} then wrk.thread:stop() end",
            "end",
        ]
    return "\n".join(lines) + "\n"


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def run_wrk(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    *,
    seconds: float,
    connections: int,
    stop_after: int = 0,
) -> Figures:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script(method, path, headers, body, stop_after))
    try:
        duration = max(1, math.ceil(seconds))  # wrk takes whole seconds
        command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script.name]
        output = subprocess.run(
            [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
        ).stdout
    finally:
        os.unlink(script.name)
    if "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(f"wrk saw failed requests:\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    calls = int(re.search(r"(\d+) requests in", output)[1])  # type: ignore[index]
    distribution = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, flags=re.MULTILINE))
    return Figures(rate, _ms(distribution["50"]), _ms(distribution["99"]), calls)


async def _own_load(
    port: int, payload: bytes, *, seconds: float, connections: int, stop_after: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    done = 0

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline and not (stop_after and done >= stop_after):
                done += 1
                started = time.perf_counter()
                writer.write(payload)
                status, body = await read_response(reader)
                check_answer(status, body)
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started, latencies


def run_own(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    *,
    seconds: float,
    connections: int,
    stop_after: int = 0,
) -> Figures:
    payload = raw_request(method, path, headers, body)
    elapsed, latencies = asyncio.run(
        _own_load(port, payload, seconds=seconds, connections=connections, stop_after=stop_after)
    )
    latencies.sort()
    return Figures(
        len(latencies) / elapsed,
        statistics.median(latencies) * 1000,
        latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        len(latencies),
    )


LOAD = run_wrk if shutil.which("wrk") else run_own


# ------------------------------------------------------------------------------------- processes
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server on port {port} exited ({proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on port {port} did not start")


@contextmanager
def started(command: Sequence[str], port: int, env: dict[str, str] | None = None) -> Iterator[int]:
    """Start a server process; yields its pid once it accepts connections; stops it after."""
    environment = os.environ | {"PYTHONUNBUFFERED": "1"} | (env or {})
    with open(os.devnull, "w") as devnull:
        proc = subprocess.Popen(command, env=environment, stdout=devnull, stderr=devnull)
    try:
        wait_ready(port, proc, time.monotonic() + 120)
        time.sleep(0.3)  # let the workers, if any, come up too
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bench_server(
    kind: str, port: int, workers: int = 1, env: dict[str, str] | None = None
) -> AbstractContextManager[int]:
    return started(
        [sys.executable, __file__, "--serve", kind, "--port", str(port), "--workers", str(workers)], port, env
    )


def rss_mb(pid: int) -> float:
    """Resident set size of a process and its children (the workers), in MB."""
    total = 0
    for p in [pid, *_children(pid)]:
        with open(f"/proc/{p}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (the workers), in seconds (Linux)."""
    total = 0
    for p in [pid, *_children(pid)]:
        with open(f"/proc/{p}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def pss_mb(pid: int) -> float:
    """Proportional set size of a process and its children: shared pages (the app built before the
    workers fork) counted once across them, in MB."""
    total = 0
    for p in [pid, *_children(pid)]:
        with open(f"/proc/{p}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total / 1024


def _python_child(pid: int) -> int:
    """`uv run` execs or spawns the interpreter: the process that serves (the deepest child)."""
    while children := _children(pid):
        pid = children[0]
    return pid


def _children(pid: int) -> list[int]:
    """Child processes of `pid`, whichever of its threads started them (uv spawns from a worker thread)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def one_call(port: int, headers: dict[str, str], body: bytes, path: str = "/mcp") -> bytes:
    async def go() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(raw_request("POST", path, headers, body))
        status, answer = await read_response(reader)
        writer.close()
        check_answer(status, answer)
        return answer

    return asyncio.run(go())


# -------------------------------------------------------------------------------------- sections
@dataclass
class Row:
    name: str
    figures: Figures
    note: str = ""
    floor: Figures | None = None  # the floor measured just before this row (the 1-worker core rows)


def measure(
    pid: int, port: int, era: str, seconds: float, connections: int, *, fleet: bool = True
) -> Figures:
    headers, body = call_request(port, era, fleet=fleet)
    one_call(port, headers, body)  # a correct answer, not an error, before any figure
    LOAD(port, "POST", "/mcp", headers, body, seconds=min(1.0, seconds), connections=connections)  # warm-up
    cpu = cpu_seconds(pid)
    figures = LOAD(port, "POST", "/mcp", headers, body, seconds=seconds, connections=connections)
    figures.calls_per_cpu_s = figures.calls / max(cpu_seconds(pid) - cpu, 1e-9)
    return figures


def floor_now(seconds: float, connections: int) -> Figures:
    port = free_port()
    with bench_server("floor", port) as pid:
        return measure(pid, port, LEGACY, seconds, connections, fleet=False)


def throughput(args: argparse.Namespace) -> tuple[list[Row], dict[str, float]]:
    rows: list[Row] = []
    rss: dict[str, float] = {}
    seconds, conns = args.seconds, args.connections
    rows.append(Row("floor: raw ASGI JSON echo", floor_now(seconds, conns)))
    port = free_port()
    with bench_server("sdk", port) as pid:
        one_call(port, *call_request(port, MODERN, fleet=False))
        rss["plain SDK MCPServer (one tool, no fleet core), after start-up and a first call"] = rss_mb(pid)
        figures = measure(pid, port, MODERN, seconds, conns, fleet=False)
        rows.append(Row("SDK MCPServer defaults", figures, MODERN))
    if not args.no_fastmcp and shutil.which("uv"):
        port = free_port()
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
            script.write(FASTMCP_SERVER)
        command = ["uv", "run", "--quiet", "--isolated", "--no-project", "--with", "fastmcp>=2,<3"]
        try:
            with started([*command, "python", script.name, str(port)], port) as pid:
                figures = measure(_python_child(pid), port, LEGACY, seconds, conns, fleet=False)
                rows.append(Row("FastMCP 2.x (isolated env)", figures, LEGACY))
        except (SystemExit, subprocess.CalledProcessError) as exc:
            print(f"(FastMCP 2.x not measured: {exc})")
        finally:
            os.unlink(script.name)
    for workers in (1, args.workers):
        for era in (MODERN, LEGACY):
            # This machine's speed can drift within minutes (a shared host): each row with a target is
            # compared with a floor measured just before it, not only with the one at the start.
            adjacent = floor_now(seconds, conns) if workers == 1 else None
            port = free_port()
            with bench_server("core", port, workers) as pid:
                one_call(port, *call_request(port, era))  # after start-up *and a first call*
                rss[f"core, {workers} worker(s), after start-up"] = rss_mb(pid)
                rss[f"core, {workers} worker(s), after start-up, PSS"] = pss_mb(pid)
                figures = measure(pid, port, era, seconds, conns)
                name = f"fleet core, {workers} worker{'s' if workers > 1 else ''}"
                rows.append(Row(name, figures, era, adjacent))
        if args.workers == 1:
            break
    return rows, rss


def calls(port: int, headers: dict[str, str], body: bytes, count: int, connections: int) -> None:
    """Make `count` calls (wrk stops its thread at a count but runs out its duration, so each run is
    sized by the rate just measured)."""
    done = 0
    rate = LOAD(port, "POST", "/mcp", headers, body, seconds=1, connections=connections).calls_per_s
    while done < count:
        seconds = (count - done) / max(rate, 100.0) * 1.1 + 0.5
        figures = LOAD(
            port,
            "POST",
            "/mcp",
            headers,
            body,
            seconds=seconds,
            connections=connections,
            stop_after=count - done,
        )
        done += figures.calls
        rate = max(rate, figures.calls / seconds)


def leak(args: argparse.Namespace) -> tuple[float, float, float]:
    """RSS after start-up, after `leak_calls // 10` calls and after `leak_calls` calls (one process)."""
    port = free_port()
    with bench_server("core", port, 1) as pid:
        headers, body = call_request(port, MODERN)
        one_call(port, headers, body)
        at_start = rss_mb(pid)
        first = args.leak_calls // 10
        calls(port, headers, body, first, args.connections)
        after_first = rss_mb(pid)
        calls(port, headers, body, args.leak_calls - first, args.connections)
        return at_start, after_first, rss_mb(pid)


async def _sequential(port: int, payloads: list[bytes], count: int) -> list[float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    latencies = []
    try:
        for _ in range(count):
            started_at = time.perf_counter()
            for payload in payloads:
                writer.write(payload)
                status, body = await read_response(reader)
                check_answer(status, body)
            latencies.append((time.perf_counter() - started_at) * 1000)
    finally:
        writer.close()
    return sorted(latencies)


def gitea_latency(args: argparse.Namespace) -> tuple[list[tuple[str, float, float]], float]:
    """get_issue through fleet-gitea vs the same REST calls (the issue, its comments) straight to the
    fake; one connection, one call at a time. Returns rows (name, p50, p99) and the server's RSS."""
    fake_port, port = free_port(), free_port()
    env = {
        "FLEET_GITEA_URL": f"http://127.0.0.1:{fake_port}",
        "FLEET_GITEA_TOKEN": GITEA_TOKEN,
        "FLEET_GITEA_PUBLIC_URL": GITEA_URL,
        "FLEET_GITEA_PORT": str(port),
        "FLEET_GITEA_GATEWAY_SECRETS": SECRET,
        "FLEET_GITEA_WORKERS": "1",
    }
    rest_headers = {
        "Host": f"127.0.0.1:{fake_port}",
        "Authorization": f"token {GITEA_TOKEN}",
        "Sudo": "alice",
        "Accept": "application/json",
    }
    issue = "/api/v1/repos/alice/demo/issues/1"
    rest = [raw_request("GET", issue, rest_headers), raw_request("GET", issue + "/comments", rest_headers)]
    arguments: dict[str, object] = {"owner": "alice", "repo": "demo", "number": 1}
    rows = []
    with bench_server("gitea-fake", fake_port), bench_server("gitea", port, env=env) as pid:
        rss = 0.0
        for era in (MODERN, LEGACY):
            headers, body = call_request(port, era, "get_issue", arguments)
            answer = one_call(port, headers, body)
            assert b'"number":1' in answer, answer[:300]
            rss = rss or rss_mb(pid)  # after start-up and a first call
            tool = [raw_request("POST", "/mcp", headers, body)]
            asyncio.run(_sequential(port, tool, 200))  # warm-up
            for_tool = asyncio.run(_sequential(port, tool, args.gitea_calls))
            rows.append((f"get_issue via fleet-gitea ({era})", _p(for_tool, 50), _p(for_tool, 99)))
        asyncio.run(_sequential(fake_port, rest, 200))
        direct = asyncio.run(_sequential(fake_port, rest, args.gitea_calls))
        rows.append(("the same 2 REST calls straight to the fake", _p(direct, 50), _p(direct, 99)))
    return rows, rss


def _p(sorted_ms: list[float], percent: int) -> float:
    return (
        statistics.median(sorted_ms)
        if percent == 50
        else sorted_ms[max(0, len(sorted_ms) * percent // 100 - 1)]
    )


def _has_bytecode() -> bool:
    """Whether the SDK the servers import has compiled bytecode next to its sources."""
    import importlib.util

    spec = importlib.util.find_spec("mcp.types")
    origin = spec.origin if spec is not None else None
    return origin is not None and os.path.exists(importlib.util.cache_from_source(origin))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(args: argparse.Namespace) -> None:
    generator = (
        "wrk (1 thread)" if LOAD is run_wrk else "the bench's own asyncio generator (no wrk installed)"
    )
    print(f"load generator: {generator}, {args.connections} connections, {args.seconds:g} s per figure")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    rows, rss = throughput(args)
    print("\n1) one no-op tools/call, every check on (core rows). ratio: calls/s / the floor's, this run")
    print("   (1-worker rows: the floor measured just before the row; this machine's speed can drift);")
    print("   per CPU: calls per CPU-second of the server's processes (robust to other load), / the floor's")
    print(
        f"{'configuration':30}{'era':>11}{'calls/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'ratio':>7}"
        f"{'calls/CPU-s':>12}{'ratio':>7}  target (1 worker)"
    )
    for row in rows:
        f, base = row.figures, row.floor or rows[0].figures
        ratio, per_cpu = f.calls_per_s / base.calls_per_s, f.calls_per_cpu_s / base.calls_per_cpu_s
        target = ""
        if row.name == "fleet core, 1 worker":
            absolute = TARGET_MODERN if row.note == MODERN else TARGET_LEGACY
            ratio_target = TARGET_FLOOR_RATIO * absolute / TARGET_MODERN
            target = (
                f">= {absolute}/s {verdict(f.calls_per_s >= absolute)}; "
                f">= {ratio_target:.3f}x floor {verdict(ratio >= ratio_target)} "
                f"(per CPU {verdict(per_cpu >= ratio_target)}; floor just before: {base.calls_per_s:.0f}/s)"
            )
        print(
            f"{row.name:30}{row.note:>11}{f.calls_per_s:>9.0f}{f.p50_ms:>8.2f}{f.p99_ms:>8.2f}"
            f"{ratio:>7.3f}{f.calls_per_cpu_s:>12.0f}{per_cpu:>7.3f}  {target}"
        )
    core = {(r.name, r.note): r.figures.calls_per_s for r in rows if r.name.startswith("fleet core")}
    sdk = rows[1].figures.calls_per_s
    for (name, era), rate in core.items():
        print(f"   {name}, {era}: {rate / sdk:.2f}x the SDK's defaults")
    if args.workers > 1:
        for era in (MODERN, LEGACY):
            one, many = (
                core[("fleet core, 1 worker", era)],
                core[(f"fleet core, {args.workers} workers", era)],
            )
            print(f"   {args.workers} workers vs 1, {era}: {many / one:.2f}x (wrk shares the same CPUs)")

    print("\n3) memory (RSS, MB; target <= 60 per server process after start-up and a first call)")
    if not _has_bytecode():
        print(
            "   (no .pyc in this environment (PYTHONDONTWRITEBYTECODE set, venv installed without\n"
            "   --compile-bytecode): each server compiles its sources at start, which leaves ~3-5 MB more\n"
            "   RSS than the image holds (built with UV_COMPILE_BYTECODE=1); `uv sync --compile-bytecode`\n"
            "   measures them as deployed)"
        )
    for name, value in rss.items():
        per = ""
        if "worker(s)" in name and "1 worker" not in name and "PSS" not in name:
            per = f" (all processes; {value / (args.workers + 1):.1f} per process incl. the supervisor)"
        print(f"   {name}: {value:.1f}{per}")
    gitea_rows, gitea_rss = gitea_latency(args)
    print(f"   fleet-gitea, after start-up: {gitea_rss:.1f}  {verdict(gitea_rss <= TARGET_RSS_MB)}")
    core_rss = rss["core, 1 worker(s), after start-up"]
    print(f"   core (no-op server), after start-up: {core_rss:.1f}  {verdict(core_rss <= TARGET_RSS_MB)}")
    at_start, after_first, after_all = leak(args)
    grown = after_all - after_first
    print(
        f"   leak check, one process: {at_start:.1f} at start, {after_first:.1f} after "
        f"{args.leak_calls // 10:,} calls, {after_all:.1f} after {args.leak_calls:,}: +{grown:.1f} MB "
        f"(target <= +{TARGET_LEAK_MB}) {verdict(grown <= TARGET_LEAK_MB)}"
    )

    print(f"\n4) gitea get_issue, one connection, {args.gitea_calls} calls each (ms)")
    for name, p50, p99 in gitea_rows:
        print(f"   {name:46} p50 {p50:7.2f}  p99 {p99:7.2f}")
    direct_p50 = gitea_rows[-1][1]
    for name, p50, p99 in gitea_rows[:-1]:
        added = p50 - direct_p50
        print(
            f"   added by the server, {name[-12:-1]}: p50 +{added:.2f} ms, "
            f"p99 +{p99 - gitea_rows[-1][2]:.2f} ms "
            f"(target p50 <= +{TARGET_GITEA_P50_MS:g}) {verdict(added <= TARGET_GITEA_P50_MS)}"
        )
    load = os.getloadavg()[0]
    print(f"\nload average at the end: {load:.2f} (figures from a loaded machine are low and noisy)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds", type=float, default=8, help="per throughput figure (default 8, as the issue)"
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="N for the N-worker rows")
    parser.add_argument("--leak-calls", type=int, default=100_000, help="RSS is compared after 1/10 and all")
    parser.add_argument("--gitea-calls", type=int, default=2000)
    parser.add_argument("--no-fastmcp", action="store_true", help="skip the FastMCP 2.x figure")
    parser.add_argument(
        "--quick", action="store_true", help="2 s figures, 20,000 leak calls, 500 gitea calls"
    )
    parser.add_argument(
        "--serve", choices=["floor", "sdk", "core", "gitea", "gitea-fake"], help=argparse.SUPPRESS
    )
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.workers)
        return
    if args.quick:
        args.seconds, args.leak_calls, args.gitea_calls = 2, 20_000, 500
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # figures as they come
    report(args)


if __name__ == "__main__":
    main()
