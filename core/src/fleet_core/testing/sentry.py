"""A local Sentry ingest endpoint: what the contract suite, the servers' tests and
`fleet workshop sentry-inbox` point SENTRY_DSN at instead of sentry.io.

It speaks the SDK's side of Sentry's envelope protocol (develop.sentry.dev/sdk/data-model/envelopes/):
`POST /api/<project>/envelope/`, a body of one envelope-header line, then items, each an item-header line
and a payload (`length` bytes when the header says, else up to the next newline), optionally gzip- or
deflate-compressed (`Content-Encoding`). Anything else gets a 4xx that says why, never a crash: the
inbox runs on an attendee's machine and anything on it may post to it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2
from pydantic import SecretStr

from .._serve import running_app
from .._settings import ServerSettings, is_loopback

__all__ = [
    "MAX_BODY",
    "MAX_DECODED",
    "Envelope",
    "EnvelopeError",
    "Item",
    "SentryCapture",
    "decode_body",
    "envelope_url",
    "is_loopback",
    "parse_envelope",
    "sentry_capture",
]

MAX_BODY = 1024 * 1024  # bytes as sent (compressed); an SDK event is far smaller
MAX_DECODED = 10 * MAX_BODY  # after decompression: a small gzip bomb stops here
DRAIN_LIMIT = 4 * MAX_BODY  # read and dropped, to answer 413 cleanly; past it the connection is dropped
MAX_ITEMS = 100
ENCODINGS = ("gzip", "deflate", "identity")
ENDPOINT = re.compile(r"^/api/(\d+)/envelope/?$")
# Where to also send what a `sentry_capture()` receives (a `fleet workshop sentry-inbox` DSN), to watch it.
FORWARD_ENV = "FLEET_SENTRY_INBOX"

_S = TypeVar("_S", bound=ServerSettings)


class EnvelopeError(ValueError):
    """A request that is not an envelope this endpoint accepts; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Item:
    headers: dict[str, Any]
    payload: bytes

    @property
    def type(self) -> str:
        return str(self.headers["type"])

    def json(self) -> Any:
        try:
            return json.loads(self.payload)
        except ValueError as exc:
            raise EnvelopeError(f"the {self.type} item's payload is not JSON: {exc}") from exc


@dataclass(frozen=True)
class Envelope:
    headers: dict[str, Any]
    items: tuple[Item, ...]


def decode_body(body: bytes, encoding: str | None) -> bytes:
    """The body without its Content-Encoding (gzip, deflate or none), at most MAX_DECODED bytes."""
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        return body
    if name == "gzip":
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif name == "deflate":  # zlib-wrapped as HTTP means it; raw deflate as some clients send it
        decoder = zlib.decompressobj(zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS)
    else:
        raise EnvelopeError(
            f"Content-Encoding {encoding!r} is not supported here (use one of: {', '.join(ENCODINGS)})", 415
        )
    try:
        decoded = decoder.decompress(body, MAX_DECODED)
        if decoder.unconsumed_tail:
            raise EnvelopeError(f"the body decompresses to more than {MAX_DECODED} bytes", 413)
        decoded += decoder.flush()
    except zlib.error as exc:
        raise EnvelopeError(f"the body is not valid {name} data: {exc}") from exc
    if not decoder.eof:
        raise EnvelopeError(f"the {name} body is truncated")
    return decoded


def _line(data: bytes, start: int) -> tuple[bytes, int]:
    end = data.find(b"\n", start)
    return (data[start:], len(data)) if end < 0 else (data[start:end], end + 1)


def _object(line: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise EnvelopeError(f"the {what} is not a JSON line: {exc}") from exc
    if not isinstance(value, dict):
        raise EnvelopeError(f"the {what} is not a JSON object")
    return value


def parse_envelope(data: bytes) -> Envelope:
    """Envelope = header line, then items: an item-header line and its payload (exactly `length`
    bytes and an optional newline, or without `length` up to the next newline)."""
    if not data.strip():
        raise EnvelopeError("the body is empty: an envelope starts with a JSON header line")
    line, pos = _line(data, 0)
    headers = _object(line, "envelope header")
    items: list[Item] = []
    while pos < len(data):
        line, after = _line(data, pos)
        if not line.strip():  # blank lines between items and at the end
            pos = after
            continue
        if len(items) == MAX_ITEMS:
            raise EnvelopeError(f"more than {MAX_ITEMS} items in one envelope", 413)
        number = len(items) + 1
        item_headers = _object(line, f"header of item {number}")
        if not isinstance(item_headers.get("type"), str) or not item_headers["type"]:
            raise EnvelopeError(f"item {number} has no type")
        length = item_headers.get("length")
        if length is None:
            payload, pos = _line(data, after)
        elif isinstance(length, int) and not isinstance(length, bool) and length >= 0:
            if after + length > len(data):
                raise EnvelopeError(
                    f"item {number} says length {length}, but {len(data) - after} bytes are left"
                )
            payload, pos = data[after : after + length], after + length
            if data[pos : pos + 1] == b"\n":
                pos += 1
        else:
            raise EnvelopeError(f"item {number} has a length that is not a byte count: {length!r}")
        items.append(Item(item_headers, payload))
    return Envelope(headers, tuple(items))


def _sentry_key(headers: dict[bytes, bytes], query: bytes) -> str | None:
    auth = headers.get(b"x-sentry-auth", b"").decode("latin-1")
    found = re.search(r"sentry_key=([^,\s]+)", auth)
    if found:
        return found.group(1)
    keys = parse_qs(query.decode("latin-1")).get("sentry_key")
    return keys[0] if keys else None


def envelope_url(dsn: str) -> str:
    """The envelope endpoint of a DSN (`http://<key>@<host>/<project>` → `http://<host>/api/<project>/envelope/`)."""
    parts = urlsplit(dsn)
    project = parts.path.rstrip("/").rsplit("/", 1)[-1]
    if parts.scheme not in ("http", "https") or not parts.hostname or not project.isdigit():
        raise ValueError(f"not a Sentry DSN (scheme://key@host/project): {dsn!r}")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/api/{project}/envelope/"


@dataclass
class SentryCapture:
    """The ingest endpoint as an ASGI app: keeps each envelope, and its event and transaction payloads.
    Serve it with `running_app` (or use `sentry_capture()`), with SENTRY_DSN `http://key@127.0.0.1:<port>/1`.

    `on_envelope` and `on_error` see each accepted envelope and each refusal (the inbox prints them);
    `forward_to` (a loopback DSN only) also gets each accepted envelope's bytes as they were sent."""

    on_envelope: Callable[[Envelope], None] | None = None
    on_error: Callable[[str], None] | None = None
    forward_to: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)  # event and transaction payloads
    raw: list[bytes] = field(default_factory=list)  # each envelope, decompressed
    envelopes: list[Envelope] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dsn: str = ""  # set by sentry_capture()

    def __post_init__(self) -> None:
        if self.forward_to:
            host = urlsplit(self.forward_to).hostname or ""
            if not is_loopback(host):
                raise ValueError(f"{FORWARD_ENV} may only name a local inbox (127.0.0.1), not {host!r}")
            self._forward_url: str | None = envelope_url(self.forward_to)
        else:
            self._forward_url = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        try:
            status, answer = 200, await self._ingest(scope, receive)
        except EnvelopeError as exc:
            status, answer = exc.status, {"detail": str(exc)}
            self.errors.append(str(exc))
            if self.on_error is not None:
                self.on_error(f"{scope.get('method')} {scope.get('path')}: HTTP {status}: {exc}")
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})

    async def _ingest(self, scope: Any, receive: Any) -> dict[str, Any]:
        if not ENDPOINT.match(scope.get("path", "")):
            raise EnvelopeError("not found: Sentry SDKs post envelopes to /api/<project>/envelope/", 404)
        if scope.get("method") != "POST":
            raise EnvelopeError(f"method {scope.get('method')} not allowed: POST an envelope", 405)
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        if b"origin" in headers:  # a web page posting to the loopback port, not a server's SDK
            raise EnvelopeError("requests from a web page (with an Origin header) are refused", 403)
        if not _sentry_key(headers, scope.get("query_string", b"")):
            raise EnvelopeError("no sentry_key (X-Sentry-Auth header or query): use the DSN's key", 401)
        sent = await _body(headers, receive)
        data = decode_body(sent, headers.get(b"content-encoding", b"").decode("latin-1") or None)
        envelope = parse_envelope(data)
        payloads = [i.json() for i in envelope.items if i.type in ("event", "transaction")]
        if not all(isinstance(p, dict) for p in payloads):
            raise EnvelopeError("an event or transaction payload is not a JSON object")
        self.raw.append(data)
        self.envelopes.append(envelope)
        self.items += payloads
        if self.on_envelope is not None:
            self.on_envelope(envelope)
        if self._forward_url is not None:
            await self._forward(sent, headers)
        return {"id": envelope.headers.get("event_id")}

    async def _forward(self, body: bytes, headers: dict[bytes, bytes]) -> None:
        keep = (b"content-type", b"content-encoding", b"x-sentry-auth", b"user-agent")
        sent = {k.decode(): v.decode("latin-1") for k, v in headers.items() if k in keep}
        try:
            async with httpx2.AsyncClient(timeout=5, trust_env=False) as http:
                await http.post(str(self._forward_url), content=body, headers=sent)
        except httpx2.HTTPError as exc:
            self.errors.append(f"forwarding to {self._forward_url} failed: {exc}")

    def events(self) -> list[dict[str, Any]]:
        """The error events received so far (not transactions)."""
        return [p for p in self.items if p.get("type", "event") == "event"]

    def everything(self) -> str:
        """Every byte received, as text: search it for what must never be sent."""
        return b"".join(self.raw).decode(errors="replace")

    def with_dsn(self, settings: _S) -> _S:
        """`settings` reporting to this endpoint (SENTRY_DSN)."""
        return settings.model_copy(update={"sentry_dsn": SecretStr(self.dsn)})

    async def wait_for_events(self, seconds: float = 10) -> list[dict[str, Any]]:
        """The error events, once at least one arrived (the SDK sends from its own thread); after
        `seconds` without one, what there is (none: the caller's assertion says so)."""
        import sentry_sdk

        with anyio.move_on_after(seconds):
            while not self.events():
                await anyio.to_thread.run_sync(lambda: sentry_sdk.flush(timeout=1))
                await anyio.sleep(0.01)
        return self.events()


async def _body(headers: dict[bytes, bytes], receive: Any) -> bytes:
    declared = headers.get(b"content-length")
    size = int(declared) if declared is not None and declared.isdigit() else None
    if size is not None and size > DRAIN_LIMIT:  # not worth reading: answer now, the client may see a reset
        raise EnvelopeError(f"the body is {size} bytes; the limit is {MAX_BODY}", 413)
    body, received = bytearray(), 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise EnvelopeError("the client went away before sending the whole body")
        chunk = message.get("body", b"")
        received += len(chunk)
        if received <= MAX_BODY:
            body += chunk
        elif received > DRAIN_LIMIT:
            raise EnvelopeError(f"the body is over the limit of {MAX_BODY} bytes", 413)
        if not message.get("more_body"):
            break
    # A body a little over the limit is read to its end (and dropped) before the 413, so the client
    # gets the answer rather than a connection reset in the middle of sending.
    if received > MAX_BODY:
        said = f"{size} bytes" if size is not None else "over the limit"
        raise EnvelopeError(f"the body is {said}; the limit is {MAX_BODY}", 413)
    return bytes(body)


@contextlib.asynccontextmanager
async def sentry_capture(*, forward_to: str | None = None) -> AsyncIterator[SentryCapture]:
    """A SentryCapture served on a free loopback port for the block (`capture.dsn` is its DSN).

    The Sentry SDK is process-global: on exit its client is flushed and closed while the endpoint is
    still up, then replaced by a disabled one for whatever runs next. Breadcrumbs outlive a client, so
    what earlier tests logged is dropped first. With FLEET_SENTRY_INBOX set to the DSN
    `fleet workshop sentry-inbox` prints, each envelope is also handed on to that inbox, to watch it."""
    import sentry_sdk

    capture = SentryCapture(forward_to=forward_to or os.environ.get(FORWARD_ENV) or None)
    for scope in (sentry_sdk.get_global_scope(), sentry_sdk.get_isolation_scope()):
        scope.clear_breadcrumbs()
    try:
        async with running_app(capture) as base:
            capture.dsn = f"http://public@{urlsplit(base).netloc}/1"
            try:
                yield capture
            finally:
                await anyio.to_thread.run_sync(lambda: sentry_sdk.get_client().close(timeout=2))
    finally:
        sentry_sdk.init()  # a disabled client: nothing after this block reports anywhere
