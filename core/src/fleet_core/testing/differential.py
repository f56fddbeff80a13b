"""The core's fast path (fleet_core._fast) against the SDK's own session manager: same request in,
same response out — status, the headers a client acts on, and the body byte for byte.

    async with BothPaths(build, settings) as both:
        await both.exchange(Exchange("POST", "/mcp", headers, body))  # AssertionError on a difference

`build` yields the server; both apps are built on that one server (and so one backend): the SDK's
app answers first, then the fast path's. `request_shapes` lists what a client can send (both protocol
eras, every JSON-RPC method the SDK serves, and the malformed shapes the SDK refuses); `tool_calls`
one call to every tool, with arguments made from its input schema.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.types import Tool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._app import build_app
from .._settings import ServerSettings

__all__ = ["BothPaths", "Exchange", "Response", "asgi_exchange", "request_shapes", "tool_calls"]

# What a client or gateway acts on; `date`/`server` are the HTTP server's, not the app's.
COMPARED_HEADERS = (
    "content-type",
    "content-length",
    "www-authenticate",
    "allow",
    "mcp-session-id",
    "retry-after",
    "cache-control",
    "location",
)
MODERN = "2026-07-28"
LEGACY = "2025-11-25"


@dataclass(frozen=True)
class Response:
    status: int
    headers: tuple[tuple[str, str], ...]  # the compared ones
    body: bytes
    raw_headers: list[tuple[bytes, bytes]] = field(default_factory=list, compare=False, repr=False)


@dataclass(frozen=True)
class Exchange:
    """One request as raw ASGI input: what the comparison sends to both paths."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    label: str = ""


async def asgi_exchange(app: ASGIApp, request: Exchange, *, port: int = 8000) -> Response:
    """Send one request to an ASGI app in-process and collect its whole response."""
    raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in request.headers]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", port),
        "state": {},
    }
    delivered = anyio.Event()
    status = 0
    raw: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []
    done = anyio.Event()

    async def receive() -> Message:
        if not delivered.is_set():
            delivered.set()
            return {"type": "http.request", "body": request.body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            raw.extend(message["headers"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    with anyio.fail_after(30):
        await app(scope, receive, send)
    done.set()
    headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw]
    kept = tuple(sorted((k, v) for k, v in headers if k in COMPARED_HEADERS))
    return Response(status, kept, b"".join(chunks), raw)


@contextlib.asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Run an ASGI app's lifespan (start-up before the block, shutdown after)."""
    to_app: list[Message] = [{"type": "lifespan.startup"}]
    wake = anyio.Event()
    started, stopped = anyio.Event(), anyio.Event()
    failed: list[str] = []

    async def receive() -> Message:
        nonlocal wake
        while not to_app:
            await wake.wait()
            wake = anyio.Event()
        return to_app.pop(0)

    async def send(message: Message) -> None:
        if message["type"].endswith(".failed"):
            failed.append(str(message.get("message", "")))
        if message["type"].startswith("lifespan.startup"):
            started.set()
        elif message["type"].startswith("lifespan.shutdown"):
            stopped.set()

    async with anyio.create_task_group() as tg:
        scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}

        async def run() -> None:
            await app(scope, receive, send)

        tg.start_soon(run)
        with anyio.fail_after(10):
            await started.wait()
        if failed:
            raise RuntimeError(f"lifespan start-up failed: {failed}")
        try:
            yield
        finally:
            to_app.append({"type": "lifespan.shutdown"})
            wake.set()
            with anyio.fail_after(10):
                await stopped.wait()


@dataclass
class BothPaths:
    """Two apps on one server: the fast path's and the SDK session manager's."""

    build: Callable[[], AbstractAsyncContextManager[MCPServer]]
    settings: ServerSettings
    compared: int = 0
    differences: list[str] = field(default_factory=list)
    _stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    fast: ASGIApp | None = None
    sdk: ASGIApp | None = None

    async def __aenter__(self) -> BothPaths:
        stack = await self._stack.__aenter__()
        fast_settings = self.settings.model_copy(update={"fast_path": True})
        sdk_settings = self.settings.model_copy(update={"fast_path": False})
        mcp = await stack.enter_async_context(self.build())
        self.fast = build_app(mcp, fast_settings)
        self.sdk = build_app(mcp, sdk_settings)
        await stack.enter_async_context(lifespan(self.fast))
        await stack.enter_async_context(lifespan(self.sdk))
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.__aexit__(kind, exc, tb)

    async def both(self, request: Exchange) -> tuple[Response, Response]:
        """Send `request` to the SDK's path, then to the fast path; both responses, in that order."""
        assert self.fast is not None, "use `async with BothPaths(...)`"
        assert self.sdk is not None, "use `async with BothPaths(...)`"
        sdk = await asgi_exchange(self.sdk, request, port=self.settings.port)
        fast = await asgi_exchange(self.fast, request, port=self.settings.port)
        self.compared += 1
        return sdk, fast

    async def exchange(self, request: Exchange) -> Response:
        """Send `request` to both; the responses must be identical. Returns the fast path's."""
        sdk, fast = await self.both(request)
        assert fast == sdk, _difference(request, sdk, fast)
        return fast

    async def relay(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An ASGI app (serve it with lifespan="off") that sends each HTTP request to both paths,
        records any difference in `differences`, and answers with the fast path's response: put it
        where a client (the conformance suite) talks to the server."""
        assert scope["type"] == "http", scope["type"]
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
        label = f"{scope['method']} {scope['path']}"
        request = Exchange(scope["method"], scope["path"], headers, body, label=label)
        sdk, response = await self.both(request)
        if response != sdk:
            self.differences.append(_difference(request, sdk, response))
        await send(
            {"type": "http.response.start", "status": response.status, "headers": response.raw_headers}
        )
        await send({"type": "http.response.body", "body": response.body})


def _difference(request: Exchange, sdk: Response, fast: Response) -> str:
    return (
        f"fast path and SDK path differ for {request.label or request.method} {request.body[:300]!r}:\n"
        f"  fast: {fast}\n  sdk:  {sdk}"
    )


def _rpc(method: str, params: Mapping[str, Any] | None = None, request_id: Any = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = dict(params)
    return message


def _envelope(params: Mapping[str, Any] | None) -> dict[str, Any]:
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "differential", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    return {**(params or {}), "_meta": meta}


def _headers(era: str | None, extra: Mapping[str, str], message: Any) -> tuple[tuple[str, str], ...]:
    headers = {
        "host": "127.0.0.1:8000",
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
    }
    if era is not None:
        headers["mcp-protocol-version"] = era
    if era == MODERN and isinstance(message, dict) and isinstance(message.get("method"), str):
        headers["mcp-method"] = message["method"]
        params = message.get("params")
        if message["method"] == "tools/call" and isinstance(params, dict) and "name" in params:
            headers["mcp-name"] = str(params["name"])
    headers |= {k.lower(): v for k, v in extra.items()}
    return tuple(headers.items())


def _post(
    label: str, era: str | None, identity: Mapping[str, str], message: Any, **overrides: str
) -> Exchange:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    headers = _headers(era, {**identity, **overrides}, message)
    return Exchange("POST", "/mcp", headers, body, label=f"{era or 'no version'}: {label}")


def request_shapes(identity: Mapping[str, str], tools: Sequence[str | Tool] = ()) -> list[Exchange]:
    """What a client can send, in both protocol eras (and with no version header at all), including
    what the SDK refuses. `identity` are the front door's headers (X-MCP-*, the gateway secret)."""
    shapes: list[Exchange] = []
    initialize = {
        "protocolVersion": LEGACY,
        "capabilities": {},
        "clientInfo": {"name": "differential", "version": "1"},
    }
    for era in (LEGACY, "2025-06-18", "2025-03-26", None):
        shapes += [
            _post("initialize", era, identity, _rpc("initialize", initialize)),
            _post("initialized", era, identity, {"jsonrpc": "2.0", "method": "notifications/initialized"}),
            _post("ping", era, identity, _rpc("ping")),
            _post("tools/list", era, identity, _rpc("tools/list")),
            _post("tools/list page", era, identity, _rpc("tools/list", {"cursor": "nope"})),
            _post("resources/list", era, identity, _rpc("resources/list")),
            _post("resources/templates/list", era, identity, _rpc("resources/templates/list")),
            _post("prompts/list", era, identity, _rpc("prompts/list")),
            _post("logging/setLevel", era, identity, _rpc("logging/setLevel", {"level": "info"})),
            _post("unknown method", era, identity, _rpc("no/such/method")),
            _post("string id", era, identity, _rpc("ping", request_id="a-string-id")),
            _post("unknown tool", era, identity, _rpc("tools/call", {"name": "no_such_tool"})),
            _post("params not an object", era, identity, _rpc("tools/call", None) | {"params": [1]}),
            _post("no id, unknown", era, identity, {"jsonrpc": "2.0", "method": "x/y"}),
            _post("response posted", era, identity, {"jsonrpc": "2.0", "id": 9, "result": {}}),
            _post("batch", era, identity, [_rpc("ping"), _rpc("tools/list", request_id=2)]),
            _post("not JSON-RPC", era, identity, {"hello": "world"}),
            _post("wrong jsonrpc", era, identity, {"jsonrpc": "1.0", "id": 1, "method": "ping"}),
            _post("parse error", era, identity, b'{"jsonrpc": "2.0", "id": 1, "method"'),
            _post("empty body", era, identity, b""),
            _post("only JSON accepted", era, identity, _rpc("ping"), accept="application/json"),
            _post("only SSE accepted", era, identity, _rpc("ping"), accept="text/event-stream"),
            _post("no Accept", era, identity, _rpc("ping"), accept=""),
            _post("text/plain body", era, identity, _rpc("ping"), **{"content-type": "text/plain"}),
            _post(
                "charset", era, identity, _rpc("ping"), **{"content-type": "application/json; charset=utf-8"}
            ),
            _post("foreign Host", era, identity, _rpc("ping"), host="evil.example.com"),
            _post("foreign Origin", era, identity, _rpc("ping"), origin="https://evil.example.com"),
            _post("session id", era, identity, _rpc("ping"), **{"mcp-session-id": "abc"}),
        ]
    # each tool once per era (a tool's answer does not depend on which handshake-era version asked)
    shapes += [
        _post(f"tools/call {name}", LEGACY, identity, call) for name, call in tool_calls(tools, LEGACY)
    ]
    shapes += [
        _post("discover", MODERN, identity, _rpc("server/discover", _envelope(None))),
        _post("ping", MODERN, identity, _rpc("ping", _envelope(None))),
        _post("tools/list", MODERN, identity, _rpc("tools/list", _envelope(None))),
        _post("no envelope", MODERN, identity, _rpc("tools/list")),
        _post("initialize", MODERN, identity, _rpc("initialize", _envelope(initialize))),
        _post("unknown method", MODERN, identity, _rpc("no/such/method", _envelope(None))),
        _post("unknown version", "2099-01-01", identity, _rpc("ping", _envelope(None))),
        _post("notification", MODERN, identity, {"jsonrpc": "2.0", "method": "notifications/initialized"}),
        _post("parse error", MODERN, identity, b"{"),
        _post("batch", MODERN, identity, [_rpc("ping", _envelope(None))]),
        _post("foreign Host", MODERN, identity, _rpc("ping", _envelope(None)), host="evil.example.com"),
        _post(
            "only SSE accepted", MODERN, identity, _rpc("ping", _envelope(None)), accept="text/event-stream"
        ),
    ]
    shapes += [
        _post(f"tools/call {name}", MODERN, identity, call) for name, call in tool_calls(tools, MODERN)
    ]
    for method in ("GET", "DELETE", "PUT"):
        headers = _headers(LEGACY, identity, None)
        shapes.append(Exchange(method, "/mcp", headers, label=f"{method} /mcp"))
    return shapes


def _example(schema: Mapping[str, Any]) -> Any:
    """A value of `schema`'s type: enough for the call to reach the tool (which may then refuse it)."""
    if "default" in schema:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        options = [s for s in schema.get(key, []) if s.get("type") != "null"]
        if options:
            return _example(options[0])
    kind = schema.get("type")
    if kind == "string":
        return "x" * int(schema.get("minLength", 1))
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return None


def tool_calls(tools: Sequence[str | Tool], era: str | None) -> list[tuple[str, dict[str, Any]]]:
    """One tools/call per tool (as JSON-RPC), its required arguments made up from its input schema."""
    calls: list[tuple[str, dict[str, Any]]] = []
    for number, tool in enumerate(tools, start=100):
        if isinstance(tool, str):
            name, arguments = tool, {}
        else:
            schema = tool.input_schema
            properties = schema.get("properties", {})
            name = tool.name
            arguments = {key: _example(properties.get(key, {})) for key in schema.get("required", [])}
        params: dict[str, Any] = {"name": name, "arguments": arguments}
        calls.append((name, _rpc("tools/call", _envelope(params) if era == MODERN else params, number)))
    return calls
