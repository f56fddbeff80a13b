"""Running ASGI apps on uvicorn: the blocking runner for a server's main, and a background one
for tests, `fleet dev` and demo backends."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any, Literal

import anyio
import uvicorn
from starlette.types import ASGIApp

from ._settings import ServerSettings
from .http import BoundedHttpToolsProtocol

__all__ = ["bind_loopback", "die_with_parent", "free_port", "running_app", "serve"]


def die_with_parent() -> None:
    """Started by `fleet dev` (FLEET_PARENT_PID set)? Then exit when it dies, even by SIGKILL, so no
    orphan keeps a dev port busy. Linux's parent-death signal; elsewhere a no-op."""
    parent = os.environ.get("FLEET_PARENT_PID", "")
    if not parent.isdigit() or not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != int(parent):  # it died before we asked
        os.kill(os.getpid(), signal.SIGTERM)


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def serve(app: ASGIApp, settings: ServerSettings) -> None:
    """Run the app on uvicorn with uvloop and httptools (blocking)."""
    die_with_parent()
    # uvicorn re-raises the SIGTERM it shut down for; the default action would kill the process before
    # the caller's `with` blocks close what it started (an embedded database, say). Exit instead.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    logging.basicConfig(level=settings.log_level)
    # Everything built so far lives as long as the process: keep it out of the collector's way.
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=BoundedHttpToolsProtocol,
        lifespan="on",
        access_log=False,
        log_level=settings.log_level.lower(),
        server_header=False,
    )


def free_port() -> int:
    """A loopback port free right now, for a process that binds it itself (initdb, php -S, a child)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bind_loopback(port: int = 0) -> socket.socket:
    """A bound 127.0.0.1 socket: know the URL (its port) before building the app that serves it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


@contextlib.asynccontextmanager
async def running_app(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    sock: socket.socket | None = None,
    lifespan: Literal["auto", "on", "off"] = "on",
    **config: Any,
) -> AsyncIterator[str]:
    """Serve an ASGI app in the background for the duration of the block; yields its base URL.

    Pass `sock` (see bind_loopback) to serve on a socket bound in advance; it is closed on exit.
    Extra keyword arguments go to uvicorn.Config.
    """
    options: dict[str, Any] = {
        "log_level": "error",
        "access_log": False,
        "server_header": False,
        "http": BoundedHttpToolsProtocol,
    } | config
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, lifespan=lifespan, **options))
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: server.serve(sockets=[sock] if sock is not None else None))
            with anyio.fail_after(10):
                while not server.started:
                    if server.should_exit:
                        raise RuntimeError("server failed to start")
                    await anyio.sleep(0.005)
            bound_host, bound_port = server.servers[0].sockets[0].getsockname()[:2]
            try:
                yield f"http://{bound_host}:{bound_port}"
            finally:
                server.should_exit = True
    finally:
        if sock is not None:
            sock.close()
