"""The backend clients' connections on the running asyncio loop's own transports (issue 18, item 4).

httpcore2 reaches the network through a "network backend"; its default on asyncio is anyio's, which
opens a cancel scope (`fail_after`), checks for cancellation and looks up socket attributes on every
read and write - about a fifth of a backend request's CPU, and a backend request is most of what a
read tool costs the server. `AsyncioBackend` does the same I/O with a plain `asyncio.Protocol`: one
buffer, read-side flow control (a huge answer is not read ahead into memory faster than the client
consumes it), a drain when the kernel's send buffer is full, each timeout a timer on the one future
that waits, and the same httpcore2 exceptions for the same failures (`ConnectError`, `ReadTimeout`,
...), so retries, outage handling and error messages above it are unchanged.

`backend_transport()` is `httpx2.AsyncHTTPTransport` (same pool, TLS, HTTP/1.1 parser) on it.
Asyncio only: the servers run on uvloop, and the tests on asyncio.
"""

# ruff: noqa: ASYNC109 - the `timeout` parameters are httpcore2's network-backend interface

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any, cast

import httpcore2
import httpx2

__all__ = ["AsyncioBackend", "AsyncioStream", "backend_transport"]

# Reading pauses when this much is buffered and not yet consumed, and resumes below a quarter of it
# (asyncio's StreamReader does the same with its 64 KiB limit).
HIGH_WATER = 256 * 1024
LOW_WATER = HIGH_WATER // 4


class _Connection(asyncio.Protocol):
    """What one connection has received, and who waits for it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False  # the server sent FIN, or the connection is gone
        self.lost: Exception | None = None  # the error that ended the connection, if one did
        self.reading_paused = False
        self.writing_paused = False
        self.waiter: asyncio.Future[None] | None = None  # a read waiting for data or EOF
        self.drain: asyncio.Future[None] | None = None  # a write waiting for the send buffer to drain

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are Transport-shaped, not subclasses

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > HIGH_WATER and not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        _wake(self.waiter)

    def eof_received(self) -> bool:
        self.eof = True
        _wake(self.waiter)
        return False  # the server is done with this connection: close it

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof, self.lost = True, exc
        _wake(self.waiter)
        _wake(self.drain)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        _wake(self.drain)


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


def _expire(waiter: asyncio.Future[None], error: httpcore2.TimeoutException) -> None:
    if not waiter.done():
        waiter.set_exception(error)


async def _until(
    waiter: asyncio.Future[None],
    loop: asyncio.AbstractEventLoop,
    timeout: float | None,
    error: type[httpcore2.TimeoutException],
) -> None:
    """Wait for `waiter`; after `timeout` seconds it fails with `error` instead (one timer, no task)."""
    timer = loop.call_later(timeout, _expire, waiter, error("timed out")) if timeout is not None else None
    try:
        await waiter
    finally:
        if timer is not None:
            timer.cancel()


class AsyncioStream(httpcore2.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, connection: _Connection) -> None:
        self._transport = transport
        self._connection = connection
        # Polled (without waiting) when httpcore2 asks whether an idle connection is readable: a FIN
        # can be in the kernel before the loop has seen it. One poller per connection, registered once.
        sock = transport.get_extra_info("socket")
        self._poller: select.poll | None = None
        if sock is not None and sock.fileno() >= 0:
            self._poller = select.poll()
            self._poller.register(sock.fileno(), select.POLLIN)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        c = self._connection
        if not c.buffer and not c.eof:
            c.waiter = c.loop.create_future()
            try:
                await _until(c.waiter, c.loop, timeout, httpcore2.ReadTimeout)
            finally:
                c.waiter = None
        if c.buffer:
            data = bytes(c.buffer[:max_bytes])
            del c.buffer[:max_bytes]
            if c.reading_paused and len(c.buffer) <= LOW_WATER and not self._transport.is_closing():
                c.reading_paused = False
                self._transport.resume_reading()
            return data
        if c.lost is not None:  # reset, not closed: anyio's BrokenResourceError
            raise httpcore2.ReadError(str(c.lost) or type(c.lost).__name__) from c.lost
        return b""  # end of stream (httpcore2 decides whether that was too early)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        c = self._connection
        self._check_writable()
        self._transport.write(buffer)
        if c.writing_paused:  # the kernel's send buffer is full: wait until it drains
            c.drain = c.loop.create_future()
            try:
                await _until(c.drain, c.loop, timeout, httpcore2.WriteTimeout)
            finally:
                c.drain = None
            self._check_writable()

    def _check_writable(self) -> None:
        if self._connection.lost is not None or self._transport.is_closing():
            raise httpcore2.WriteError(str(self._connection.lost or "the connection is closed"))

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.AsyncNetworkStream:
        c = self._connection
        try:
            transport = await c.loop.start_tls(
                self._transport,
                c,
                ssl_context,
                server_hostname=server_hostname,
                ssl_handshake_timeout=timeout,
            )
        except TimeoutError as e:
            self._transport.close()
            raise httpcore2.ConnectTimeout(str(e) or "the TLS handshake timed out") from e
        except (OSError, ssl.SSLError) as e:
            self._transport.close()
            raise httpcore2.ConnectError(str(e)) from e
        if transport is None:
            self._transport.close()
            raise httpcore2.ConnectError("the connection closed during the TLS handshake")
        c.transport = transport  # pause/resume reading now go through the TLS layer
        return AsyncioStream(transport, c)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Idle and readable means the server closed the connection (or sent something unasked):
            # httpcore2 then drops it from the pool instead of sending the next request on it.
            c = self._connection
            if c.eof or c.buffer or self._transport.is_closing() or self._poller is None:
                return True
            return bool(self._poller.poll(0))
        name = {"client_addr": "sockname", "server_addr": "peername"}.get(info, info)
        if name in ("ssl_object", "sockname", "peername", "socket"):
            return self._transport.get_extra_info(name)
        return None


class AsyncioBackend(httpcore2.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        return await self._connect(
            lambda c: loop.create_connection(lambda: c, host, port, local_addr=local),
            timeout,
            socket_options,
            nodelay=True,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        return await self._connect(
            lambda c: loop.create_unix_connection(lambda: c, path), timeout, socket_options, nodelay=False
        )

    async def _connect(
        self,
        open_: Callable[[_Connection], Any],
        timeout: float | None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None,
        *,
        nodelay: bool,
    ) -> AsyncioStream:
        connection = _Connection(asyncio.get_running_loop())
        try:
            async with asyncio.timeout(timeout):
                transport, _ = await open_(connection)
        except TimeoutError as e:
            raise httpcore2.ConnectTimeout(str(e) or "connect timed out") from e
        except OSError as e:
            raise httpcore2.ConnectError(str(e)) from e
        sock = transport.get_extra_info("socket")
        if sock is not None:
            if nodelay:  # a request head is one write; don't hold it back for an ACK (Nagle)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for option in socket_options or ():
                sock.setsockopt(*option)
        return AsyncioStream(transport, connection)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def backend_transport(**kwargs: Any) -> httpx2.AsyncHTTPTransport:
    """`httpx2.AsyncHTTPTransport(**kwargs)` whose connections use `AsyncioBackend`."""
    transport = httpx2.AsyncHTTPTransport(**kwargs)
    pool = transport._pool  # httpx2 has no parameter for the network backend
    if not hasattr(pool, "_network_backend"):
        raise TypeError("httpx2's transport changed shape: cannot set its network backend")
    pool._network_backend = AsyncioBackend()  # read when a connection is opened
    return transport
