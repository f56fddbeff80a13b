"""FLEET_<NAME>_WORKERS=N: N processes on one port, any worker serves any request, SIGTERM drains all.

The server under test has a tool that holds its worker until the test releases it through a named
pipe: `hold_blocking` blocks that worker's event loop (so only another worker can answer meanwhile);
`hold` waits in a thread (so the worker keeps running and sees the SIGTERM while the call is in flight).
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest

from fleet_core import default_workers, pid_alive
from fleet_core.testing import MCP_HEADERS, TEST_SECRET, call_body, identity, identity_headers, settings_for

SETTINGS = settings_for(name="workers")

SERVER = """
import os, sys
import anyio
from mcp.server.mcpserver import Context
from fleet_core import build_app, create_server, requires, serve
from fleet_core.testing import settings_for

mcp = create_server("workers")
release = sys.argv[2]

@mcp.tool(meta=requires("workers:read"))
async def pid() -> int:
    return os.getpid()

def _wait() -> None:
    with open(release) as fifo:
        fifo.read(1)

@mcp.tool(meta=requires("workers:read"))
async def hold_blocking() -> int:
    _wait()  # blocks this worker's event loop on purpose
    return os.getpid()

@mcp.tool(meta=requires("workers:read"))
async def hold() -> int:
    await anyio.to_thread.run_sync(_wait)
    return os.getpid()

@mcp.tool(meta=requires("workers:read"))
async def peer(ctx: Context) -> str:
    request = ctx.request_context.request
    return f"{request.client.host} {request.url.scheme}"

settings = settings_for(name="workers", port=int(sys.argv[1]), workers=2)
serve(build_app(mcp, settings), settings)
"""


@pytest.fixture
def server(tmp_path: pathlib.Path) -> Iterator[tuple[subprocess.Popen[bytes], str, pathlib.Path]]:
    from fleet_core import free_port

    port = free_port()
    fifo = tmp_path / "release"
    os.mkfifo(fifo)
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_")}
    proc = subprocess.Popen([sys.executable, str(script), str(port), str(fifo)], env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx2.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx2.TransportError:
            pass
        assert proc.poll() is None, "server exited"
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield proc, base + "/mcp", fifo
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def _workers(supervisor: int) -> set[int]:
    children = pathlib.Path(f"/proc/{supervisor}/task/{supervisor}/children")
    return {int(pid) for pid in children.read_text().split()} if children.exists() else set()


def _call(url: str, tool: str, timeout: float = 20, extra: dict[str, str] | None = None) -> httpx2.Response:
    who = identity("alice", "workers:read", audience=SETTINGS.public_url)
    headers = MCP_HEADERS | identity_headers(who) | {"X-MCP-Gateway-Secret": TEST_SECRET} | (extra or {})
    # a new connection per call: a worker is picked per connection
    return httpx2.post(url, json=call_body(tool), headers=headers, timeout=timeout)


def _pid_of(response: httpx2.Response) -> int:
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    assert not result["isError"], result
    return int(json.loads(result["content"][0]["text"]))


def test_two_workers_serve_one_port_and_either_answers(
    server: tuple[subprocess.Popen[bytes], str, pathlib.Path],
) -> None:
    proc, url, fifo = server
    workers = _workers(proc.pid)
    assert len(workers) == 2, workers
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(_call, url, "hold_blocking")
        with open(fifo, "w") as release:  # opens once the tool has: that worker's loop is blocked now
            other = _pid_of(_call(url, "pid"))  # so the other worker answers this one
            release.write("x")
        holder = _pid_of(held.result(timeout=20))
    assert {other, holder} == workers


def test_sigterm_drains_the_call_in_flight_then_stops_every_worker(
    server: tuple[subprocess.Popen[bytes], str, pathlib.Path],
) -> None:
    proc, url, fifo = server
    workers = _workers(proc.pid)
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(_call, url, "hold")
        with open(fifo, "w") as release:  # opens once the tool has: the call is in flight
            proc.send_signal(signal.SIGTERM)
            with pytest.raises(subprocess.TimeoutExpired):
                proc.wait(1)  # draining: nobody exits while the call is open
            release.write("x")
        answered = held.result(timeout=20)
    assert _pid_of(answered) in workers
    assert proc.wait(20) == 0
    assert not any(pid_alive(pid) for pid in workers)


def test_workers_die_with_a_killed_supervisor(
    server: tuple[subprocess.Popen[bytes], str, pathlib.Path],
) -> None:
    proc, _, _ = server
    workers = _workers(proc.pid)
    proc.kill()
    proc.wait(10)
    deadline = time.monotonic() + 10
    while any(pid_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(pid_alive(pid) for pid in workers)


def test_default_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEET_SERVER_WORKERS", raising=False)
    assert default_workers() == 1  # `fleet dev`, a plain run
    monkeypatch.setenv("FLEET_SERVER_WORKERS", "auto")  # the container image
    assert default_workers() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("FLEET_SERVER_WORKERS", "3")
    assert default_workers() == 3


def test_forwarded_headers_do_not_rewrite_the_peer(
    server: tuple[subprocess.Popen[bytes], str, pathlib.Path],
) -> None:
    """Nothing reads the client's address, so uvicorn's X-Forwarded-* rewriting is off: a loopback
    peer claiming another address and scheme is still the loopback peer, over plain HTTP."""
    _, url, _ = server
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    response = _call(url, "peer", extra=forged)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    assert result["content"][0]["text"] == "127.0.0.1 http"
