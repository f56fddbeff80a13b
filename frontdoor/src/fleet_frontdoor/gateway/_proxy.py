"""Forward one authenticated request upstream and stream the answer back (SSE unbuffered)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import anyio
import httpx2
from starlette.types import Receive, Scope, Send

from fleet_core.http import send_error

__all__ = ["BUFFER_LIMIT", "HOP_BY_HOP", "ClientGone", "Proxy"]

logger = logging.getLogger("fleet.gateway")

# RFC 9110 §7.6.1: connection-specific fields are never forwarded (plus any the Connection header names).
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Bodies up to this size are read whole (one upstream write); larger or chunked ones are streamed.
BUFFER_LIMIT = 1 << 20
_RESPONSE_DROP = HOP_BY_HOP | {b"date", b"server"}  # uvicorn sets its own Date/Server


class ClientGone(Exception):
    """The client disconnected before its request body was read."""


def _connection_tokens(value: bytes | None) -> frozenset[bytes]:
    if not value:
        return frozenset()
    return frozenset(t.strip().lower() for t in value.split(b",") if t.strip())


def _upstream(response: httpx2.Response) -> httpx2.AsyncByteStream:
    """The raw (still encoded) body of an upstream response, relayed as it arrives."""
    stream = response.stream
    assert isinstance(stream, httpx2.AsyncByteStream)  # httpx types it sync-or-async; ours is async
    return stream


def filter_response_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    named: frozenset[bytes] = frozenset()
    for name, value in raw:
        if name.lower() == b"connection":
            named = named | _connection_tokens(value)
    out = []
    for name, value in raw:
        lower = name.lower()
        if lower not in _RESPONSE_DROP and lower not in named:
            out.append((lower, value))
    return out


class Proxy:
    """Streams requests to upstreams over one pooled httpx2 transport."""

    def __init__(self, transport: httpx2.AsyncBaseTransport, *, timeout: float) -> None:
        self.transport = transport
        connect = min(timeout, 5.0)
        self.timeout = {"connect": connect, "read": timeout, "write": timeout, "pool": timeout}

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        return b"".join(chunks)

    async def _stream_body(self, receive: Receive) -> AsyncIterator[bytes]:
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
            more = message.get("more_body", False)

    async def forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        url: str,
        headers: list[tuple[bytes, bytes]],
        content_length: int | None,
        chunked: bool,
        extra_response_headers: list[tuple[bytes, bytes]],
    ) -> None:
        content: bytes | AsyncIterator[bytes] | None = None
        try:
            if chunked or (content_length is not None and content_length > BUFFER_LIMIT):
                content = self._stream_body(receive)
            elif content_length:
                content = await self._read_body(receive)
                if len(content) != content_length:
                    # never forward a Content-Length the body does not match (an upgrade request's
                    # body is withheld by the server, finding 12.5): the upstream would wait or desync
                    await send_error(send, 400, "invalid_request", "the request body is incomplete")
                    return
        except ClientGone:
            return
        request = httpx2.Request(
            scope["method"], url, headers=headers, content=content, extensions={"timeout": self.timeout}
        )
        try:
            response = await self.transport.handle_async_request(request)
        except ClientGone:
            return
        except httpx2.TimeoutException:
            logger.warning("upstream timeout: %s %s", scope["method"], url)
            await send_error(send, 504, "upstream_timeout", "the MCP server did not answer in time")
            return
        except httpx2.HTTPError as exc:
            logger.warning("upstream unreachable: %s %s (%s)", scope["method"], url, exc.__class__.__name__)
            await send_error(send, 502, "bad_gateway", "the MCP server is unreachable")
            return
        try:
            await self._relay(response, receive, send, extra_response_headers)
        finally:
            await _upstream(response).aclose()

    async def _relay(
        self,
        response: httpx2.Response,
        receive: Receive,
        send: Send,
        extra: list[tuple[bytes, bytes]],
    ) -> None:
        headers = filter_response_headers(response.headers.raw) + extra
        length = response.headers.get("content-length")
        streaming = (
            length is None
            or not length.isdigit()
            or int(length) > BUFFER_LIMIT
            or response.headers.get("content-type", "").startswith("text/event-stream")
        )
        if not streaming:
            try:
                body = b"".join([chunk async for chunk in _upstream(response)])
            except httpx2.HTTPError as exc:
                logger.warning("upstream failed mid-response (%s)", exc.__class__.__name__)
                await send_error(send, 502, "bad_gateway", "the MCP server failed while answering")
                return
            await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        # Stream chunk by chunk as the upstream produces them (SSE must not be buffered); stop
        # reading upstream as soon as the client goes away.
        async with anyio.create_task_group() as tg:

            async def watch_disconnect() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                tg.cancel_scope.cancel()

            tg.start_soon(watch_disconnect)
            try:
                async for chunk in _upstream(response):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except httpx2.HTTPError as exc:
                # headers are gone already: all we can do is end the stream early
                logger.warning("upstream stream broke (%s)", exc.__class__.__name__)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            tg.cancel_scope.cancel()
