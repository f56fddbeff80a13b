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
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import anyio
import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import STARTUP_FAILURE

from ._settings import ServerSettings
from .http import BoundedHttpToolsProtocol

__all__ = [
    "Workers",
    "bind_loopback",
    "default_workers",
    "die_with_parent",
    "free_port",
    "release_startup_memory",
    "running_app",
    "serve",
]

logger = logging.getLogger("fleet.core")


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


def default_workers() -> int:
    """Worker processes when FLEET_<NAME>_WORKERS is unset: the image's FLEET_SERVER_WORKERS (the
    Dockerfile sets `auto`: the CPUs this container may use), else 1 (`fleet dev`, a plain run)."""
    value = os.environ.get("FLEET_SERVER_WORKERS", "").strip().lower()
    if value == "auto":
        return max(
            1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        )
    return int(value) if value.isdigit() and int(value) > 0 else 1


def serve(app: ASGIApp, settings: ServerSettings) -> None:
    """Run the app on uvicorn with uvloop and httptools (blocking), in `settings.workers` processes
    (default: `default_workers()`) sharing one listening socket."""
    die_with_parent()
    # uvicorn re-raises the SIGTERM it shut down for; the default action would kill the process before
    # the caller's `with` blocks close what it started (an embedded database, say). Exit instead.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    logging.basicConfig(level=settings.log_level)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=BoundedHttpToolsProtocol,
        lifespan="on",
        access_log=False,
        log_level=settings.log_level.lower(),
        server_header=False,
        # Nothing here reads the client's address, so uvicorn's X-Forwarded-* rewriting (a middleware
        # layer on every request) has nothing to do: the caller is the identity the gate checked.
        proxy_headers=False,
    )
    # Everything built so far lives as long as the process: collect start-up's cycles, then keep the
    # rest out of the collector's way (and, with workers, out of the pages each fork would otherwise
    # copy when the collector touches them).
    gc.collect()
    gc.freeze()
    workers = settings.workers or default_workers()
    if workers == 1:
        _run(config)
    else:
        Workers(config, workers).run()


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None (musl, macOS: nothing to call)."""
    import ctypes

    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim  # the process's own libc
    except (OSError, AttributeError):
        return None
    return trim


def release_startup_memory() -> None:
    """Give back what start-up used only once. Importing the SDK, building every tool's models and
    schemas, and uvicorn's own start-up (lifespan, protocol imports) leave several MB of freed but
    still resident heap behind; a serving process never needs it again. Collect the cycles start-up
    left, keep what is left out of the collector's way (it lives as long as the process), and ask
    glibc to return the free pages to the kernel (~4 MB of RSS per process; see bench/core_bench.py).
    """
    gc.collect()
    gc.freeze()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


class _Server(uvicorn.Server):
    """uvicorn's server, releasing start-up memory once it is up (its lifespan has run, it listens)."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            release_startup_memory()


def _run(config: uvicorn.Config, sockets: list[socket.socket] | None = None) -> None:
    server = _Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=sockets)
    if not server.started:  # what uvicorn.run does: a port in use or a failed start-up is not a clean exit
        sys.exit(STARTUP_FAILURE)


class Workers:
    """N forks of this process serving one pre-bound socket: the kernel hands each new connection to
    whichever worker accepts first, so any worker serves any request. The app is built once, before
    the fork (its pages are shared until written); each worker runs its own event loop and lifespan.

    SIGTERM/SIGINT: every worker gets SIGTERM, stops accepting and finishes its in-flight requests
    (uvicorn's graceful shutdown), and this process exits when the last one has. A worker that dies
    is replaced; one that dies within CRASH_WINDOW seconds of its start stops the whole server
    (a start-up failure would only repeat) with a non-zero exit.
    """

    CRASH_WINDOW = 5.0

    def __init__(self, config: uvicorn.Config, count: int) -> None:
        self.config, self.count = config, count
        self.children: dict[int, float] = {}  # pid -> start time
        self.stopping = False

    def run(self) -> None:
        sock = self.config.bind_socket()
        logger.info("%d workers on %s:%d", self.count, self.config.host, self.config.port)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        failed = False
        try:
            for _ in range(self.count):
                self._spawn(sock)
            while self.children:
                try:
                    pid, status = os.wait()
                except ChildProcessError:
                    break
                except InterruptedError:  # pragma: no cover - PEP 475 retries wait() itself
                    continue
                started = self.children.pop(pid, None)
                if started is None or self.stopping:
                    continue
                code = os.waitstatus_to_exitcode(status)
                logger.error("worker %d exited (%d)", pid, code)
                if time.monotonic() - started < self.CRASH_WINDOW:
                    failed = True
                    self._stop(signal.SIGTERM, None)
                else:
                    self._spawn(sock)
        finally:
            sock.close()
        if failed:
            sys.exit("a worker failed at start-up; the server stopped")

    def _spawn(self, sock: socket.socket) -> None:
        # a signal between fork and the worker's own handlers would run the supervisor's in the worker
        stops = {signal.SIGTERM, signal.SIGINT}
        signal.pthread_sigmask(signal.SIG_BLOCK, stops)
        pid = os.fork()
        if pid:
            self.children[pid] = time.monotonic()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
            return
        # the worker: uvicorn installs its own SIGTERM/SIGINT handlers while it serves
        code = 0
        try:
            signal.signal(signal.SIGTERM, _exit_on_signal)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
            if sys.platform.startswith("linux"):  # never outlive the supervisor, even a SIGKILLed one
                import ctypes

                ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
            _run(self.config, [sock])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        except BaseException:
            logger.exception("worker crashed")
            code = 1
        finally:
            # Never run the supervisor's `finally` blocks and `with` exits (an embedded database's
            # stop, say) in a worker: leave at once.
            logging.shutdown()
            os._exit(code)

    def _stop(self, signum: int, _frame: object) -> None:
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


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
