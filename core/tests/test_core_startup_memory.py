"""What start-up used only once is given back once the server is up (issue 18 item 3: RSS per server
process). The figure itself is bench/core_bench.py's; these check the mechanism, not a size."""

from __future__ import annotations

import gc
import platform
import sys
import weakref

import anyio
import pytest
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from fleet_core import _serve


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _up(app: ASGIApp, monkeypatch: pytest.MonkeyPatch) -> tuple[bool, list[str]]:
    """Run `_serve._Server` until it has released (or exited); return whether it started and the calls."""
    calls: list[str] = []
    done = anyio.Event()

    def released() -> None:
        calls.append("released")
        done.set()

    monkeypatch.setattr(_serve, "release_startup_memory", released)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="critical")
    server = _serve._Server(config)

    async def serve() -> None:
        try:
            await server.serve()
        except SystemExit:  # uvicorn's exit when the app's start-up failed
            calls.append("exited")
            done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(serve)
        with anyio.fail_after(10):
            await done.wait()
        server.should_exit = True
    return server.started, calls


async def test_memory_is_released_once_the_server_is_up(monkeypatch: pytest.MonkeyPatch) -> None:
    started, calls = await _up(_app, monkeypatch)
    assert started
    assert calls == ["released"]


async def test_nothing_is_released_when_start_up_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.failed", "message": "refused"})
            return
        await _app(scope, receive, send)

    started, calls = await _up(failing, monkeypatch)
    assert not started
    assert "released" not in calls


def test_release_collects_then_freezes() -> None:
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    gc.unfreeze()
    try:
        garbage = weakref.ref(Cycle())  # start-up garbage: reachable only from itself
        kept = Cycle()
        _serve.release_startup_memory()
        assert garbage() is None  # collected, not frozen for the life of the process
        assert gc.get_freeze_count() > 0
        assert kept.me is kept
    finally:
        gc.unfreeze()


def test_glibc_trim_is_found_on_linux() -> None:
    trim = _serve._malloc_trim()
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert trim is not None
        assert trim(0) in (0, 1)  # 1: memory was released, 0: there was none to release
    else:  # pragma: no cover - CI and the image are Debian (glibc)
        assert trim is None or callable(trim)
