"""HTTP mechanics the front door (dev gateway) and every server share, written once.

Where a bearer token may be (the Authorization header only, never the URL), how a refusal looks
(a JSON body, no-store), where a resource's RFC 9728 metadata lives, and how large a request head
may be before the connection is closed.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

from starlette.types import Message, Receive, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = [
    "MAX_REQUEST_HEAD_BYTES",
    "PRM_PREFIX",
    "QUERY_TOKEN_PARAMS",
    "BoundedHttpToolsProtocol",
    "authorization_values",
    "bearer_challenge",
    "bearer_token",
    "endpoint_page",
    "error_body",
    "prm_url",
    "replay",
    "respond",
    "send_error",
    "token_in_query",
    "wants_html",
]

# Query parameters that carry bearer tokens somewhere (RFC 6750 §2.3, OSS Kong's `jwt`, …): a token
# in a URL ends up in logs, so a request carrying one is refused, never used (MCP authorization, G14).
QUERY_TOKEN_PARAMS = frozenset({"access_token", "id_token", "token", "jwt", "bearer"})
PRM_PREFIX = "/.well-known/oauth-protected-resource"
# Request line + headers. nginx (Kong) allows 4 × 8 KiB by default; a JWT and the MCP headers fit
# easily. httptools has no limit of its own and concatenates a long header quadratically (a 64 MiB
# header cost 3.6 s of one core and slowed every other request, finding 12.5).
MAX_REQUEST_HEAD_BYTES = 64 * 1024


def token_in_query(query: bytes) -> bool:
    """Does the query string carry a parameter that names a token (whatever its case)?"""
    if not query:
        return False
    return any(
        name.lower() in QUERY_TOKEN_PARAMS
        for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    )


def authorization_values(headers: Iterable[tuple[bytes, bytes]]) -> list[bytes]:
    """Every Authorization header the client sent (more than one is an attack, G15)."""
    return [value for name, value in headers if name.lower() == b"authorization"]


def bearer_token(value: bytes) -> str | None:
    """The token of a `Bearer <token>` credential, or None for another scheme or an empty token.

    The scheme is case-insensitive (RFC 7235 §2.1): `bearer x` is accepted like `Bearer x`.
    """
    scheme, _, token = value.decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def prm_url(resource: str) -> str:
    """RFC 9728 §3.1: the well-known suffix is inserted between the origin and the resource's path."""
    parts = urlsplit(resource)
    return f"{parts.scheme}://{parts.netloc}{PRM_PREFIX}{parts.path}"


def bearer_challenge(*params: tuple[str, str]) -> bytes:
    """A `WWW-Authenticate: Bearer k="v", …` value, parameters in the order given."""
    return ("Bearer " + ", ".join(f'{k}="{v}"' for k, v in params)).encode()


def wants_html(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """A browser navigating here (Accept names text/html), not an MCP client (which never does)."""
    return any(name == b"accept" and b"text/html" in value.lower() for name, value in headers)


def endpoint_page(server: str, url: str) -> bytes:
    """What a browser shows for an MCP endpoint: what this URL is, instead of a blank hang."""
    server, url = html.escape(server), html.escape(url)
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>MCP endpoint: "
        f"{server}</title><h1>This is an MCP endpoint</h1><p><code>{url}</code> is where the "
        f"<b>{server}</b> MCP server answers Model Context Protocol clients (VS Code, Claude, the fleet "
        "client) with JSON-RPC over HTTP POST. A browser has nothing to show here.</p><p>Add this URL "
        "to your MCP client as an HTTP server; it signs you in through the front door.</p></html>\n"
    ).encode()


def error_body(code: str, description: str) -> bytes:
    return json.dumps({"error": code, "error_description": description}).encode()


async def respond(
    send: Send,
    status: int,
    body: bytes,
    headers: Iterable[tuple[bytes, bytes]] = (),
    *,
    content_type: bytes = b"application/json",
    head: bool = False,
) -> None:
    """A complete, uncacheable response (HEAD: the headers of the GET, no body)."""
    all_headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def send_error(
    send: Send,
    status: int,
    code: str,
    description: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
    *,
    head: bool = False,
) -> None:
    """`{"error": code, "error_description": description}` with the status (RFC 6749 §5.2 shape)."""
    await respond(send, status, error_body(code, description), headers, head=head)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a cap on the request head (MAX_REQUEST_HEAD_BYTES).

    Over the cap the connection gets a 431 and is closed before the parser sees more: the bytes are
    counted as they arrive, so a huge header costs a few reads, not a quadratic concatenation.
    """

    _head_bytes = 0
    _in_head = True
    _discarding = False

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return
        was_in_head = self._in_head
        super().data_received(data)
        # Counted after parsing, so a chunk that ends a head and carries body bytes is not held
        # against the head; a head still open is at most one read (64-256 KiB) past the cap.
        if self._in_head and was_in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_REQUEST_HEAD_BYTES:
                self._refuse_head()

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head, self._head_bytes = True, 0

    def eof_received(self) -> None:
        if self._discarding:
            self.transport.close()

    def _refuse_head(self) -> None:
        body = error_body("request_header_fields_too_large", "the request headers are too large")
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
        )
        # A lingering close, like nginx's: closing with the client's bytes unread would reset the
        # connection and could destroy the 431 before the client reads it. So: send FIN, drop what
        # still arrives (unparsed, so cheap), close when the client does or after 2 s.
        self._discarding = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(2.0, self.transport.close)


def replay(body: bytes, receive: Receive) -> Receive:
    """`receive` for an app downstream of one that already read the request body: the body once, then the
    original channel (for the disconnect)."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again
