"""The stateless request shapes, served without the SDK's per-request session machinery.

For a handshake-era (2025-11-25) POST the SDK's stateless mode builds a whole session per request:
a transport, two memory-stream pairs, a JSON-RPC dispatcher, a task group with a router task and a
handler task. Measured (issue 18), that costs more than the tool call itself. A stateless server
needs none of it: one request in, one response out. So the common shape — one JSON-RPC request,
JSON response, not `initialize` — goes straight to the SDK's single-exchange kernel (`serve_one`'s
ServerRunner: the same middleware chain, params validation and tool invocation every SDK path
uses), framed with the SDK's own checks and types (TransportSecurityMiddleware,
`check_accept_headers`, `jsonrpc_message_adapter`, JSONRPCResponse/JSONRPCError) and the exact
error mapping of the SDK's JSONRPCDispatcher.

A 2026-07-28 request needs no session either, but the SDK's single-exchange entry
(`handle_modern_request`) still spent a third of a no-op call around the kernel (py-spy, issue 18):
a TransportSecurityMiddleware built per request, starlette's O(n) header lookups repeated for a
dict of every header, and `serve_one`'s shielded teardown of an exit stack nobody used. Its plain
shape — one request, JSON response, every rung of the SDK's ladder passed — runs the same steps in
the same order with the same SDK functions (`check_accept_headers`, `JSONRPCRequest`,
`find_duplicated_routing_header`, `classify_inbound_request`, the Mcp-Param check,
`Connection.from_envelope`, `_to_jsonrpc_response`, `_write`), built once where the SDK builds per call.

Anything else — an `initialize`, a refusal by any rung of the 2026-07-28 ladder, a notification, a
batch, a bad header, a body that is not one valid JSON-RPC request — is handed to the SDK's app
unchanged, so it answers every unusual shape itself.
The differential test (fleet_core.testing.differential: core/tests/test_core_fast_path.py, the
contract's `fast_path_identical` for every server, the conformance suite in
client/tests/test_client_conformance.py) sends request shapes and a call to every tool through both
paths and requires identical responses.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pydantic_core
from mcp.server._streamable_http_modern import (
    _is_notification_shaped,
    _mcp_param_rejection,
    _SingleExchangeDispatchContext,
    _to_jsonrpc_response,
    _write,
)
from mcp.server.connection import Connection
from mcp.server.runner import ServerRunner, aclose_shielded
from mcp.server.streamable_http import check_accept_headers
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecurityMiddleware
from mcp.shared.inbound import (
    MCP_PROTOCOL_VERSION_HEADER,
    InboundLadderRejection,
    classify_inbound_request,
    find_duplicated_routing_header,
)
from mcp.shared.jsonrpc_dispatcher import handler_exception_to_error_data, progress_token_from_params
from mcp.shared.message import ServerMessageMetadata
from mcp.shared.transport_context import TransportContext
from mcp.types import (
    DEFAULT_NEGOTIATED_VERSION,
    ErrorData,
    JSONRPCError,
    JSONRPCRequest,
    JSONRPCResponse,
    jsonrpc_message_adapter,
)
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from .http import replay

__all__ = ["FastPath"]

# The SDK's JSONRPCDispatcher logs a handler's unmapped exception under this name; so do we.
dispatcher_logger = logging.getLogger("mcp.shared.jsonrpc_dispatcher")

_VERSION_HEADER = MCP_PROTOCOL_VERSION_HEADER.lower().encode("latin-1")
_JSON_HEADERS = [(b"content-type", b"application/json")]
# `_write`'s `json.dumps(body, separators=(",", ":"))`, its encoder built once instead of per call
_RESPONSE_ENCODER = json.JSONEncoder(separators=(",", ":"))


async def _serve_one(
    server: Any,
    dctx: _SingleExchangeDispatchContext,
    message: JSONRPCRequest,
    connection: Connection,
    state: Any,
) -> dict[str, Any]:
    """The SDK's `serve_one`, whose teardown (a shielded, time-bounded close of the connection's exit
    stack: two cancel scopes, ~10% of a no-op call) runs only when something was put on that stack."""
    runner = ServerRunner(server, connection, state)
    try:
        return await runner.on_request(dctx, message.method, message.params)
    finally:
        # AsyncExitStack keeps its callbacks in this deque (CPython 3.11+, undeclared in typeshed)
        if connection.exit_stack._exit_callbacks:  # type: ignore[attr-defined]
            await aclose_shielded(connection)


class FastPath:
    """ASGI app for the MCP endpoint's POSTs; `manager` must be stateless with JSON responses."""

    def __init__(self, manager: StreamableHTTPSessionManager) -> None:
        if not (manager.stateless and manager.json_response):
            raise ValueError("the fast path serves stateless JSON-response servers only")
        self.manager = manager
        self.server = manager.app
        self.security = TransportSecurityMiddleware(manager.security_settings)
        self.fallback = manager.asgi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        version: str | None = None
        for name, value in scope["headers"]:
            if name == _VERSION_HEADER:
                version = value.decode("latin-1")
                break
        if scope["method"] != "POST" or self.manager._task_group is None:
            await self.fallback(scope, receive, send)
        elif version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            await self._modern(scope, receive, send)
        else:
            await self._legacy(version, scope, receive, send)

    async def _legacy(self, version: str | None, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        body = await request.body()
        message = await self._plain_request(request, body)
        if message is None:
            await self.fallback(scope, replay(body, receive), send)
            return
        dctx = _SingleExchangeDispatchContext(
            # what the SDK's stateless transport and dispatcher give a handler: no back channel, and
            # notifications about the request have no wire in JSON-response mode (they are dropped)
            transport=TransportContext(kind="streamable-http", can_send_request=False),
            request_id=message.id,
            message_metadata=ServerMessageMetadata(request_context=request, can_send_request=False),
        )
        connection = Connection.from_envelope(
            version if version is not None else DEFAULT_NEGOTIATED_VERSION, None, None
        )
        answer: JSONRPCResponse | JSONRPCError
        try:
            result = await _serve_one(self.server, dctx, message, connection, self.manager._lifespan_state)
        except Exception as exc:
            # JSONRPCDispatcher._handle_request's mapping, code 0 and all (the SDK's v1 compatibility)
            error = handler_exception_to_error_data(exc)
            if error is None:
                dispatcher_logger.exception("handler for %r raised", message.method)
                error = ErrorData(code=0, message=str(exc))
            answer = JSONRPCError(jsonrpc="2.0", id=message.id, error=error)
        else:
            answer = JSONRPCResponse(jsonrpc="2.0", id=message.id, result=result)
        payload = answer.__pydantic_serializer__.to_json(answer, by_alias=True, exclude_unset=True)
        headers = [(b"content-length", str(len(payload)).encode()), *_JSON_HEADERS]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _modern(self, scope: Scope, receive: Receive, send: Send) -> None:
        """`handle_modern_request`'s JSON-response arm for a request every rung accepts; any other
        outcome is the SDK's own answer (the fallback runs the same ladder and refuses it)."""
        request = Request(scope, receive)
        body = await request.body()
        if await self.security.validate_request(request, is_post=True) is not None:
            await self.fallback(scope, replay(body, receive), send)
            return
        has_json, _ = check_accept_headers(request)
        decoded: Any = None
        try:
            decoded = json.loads(body) if has_json else None
        except (ValueError, RecursionError):
            decoded = None
        req: JSONRPCRequest | None = None
        if decoded is not None and not _is_notification_shaped(decoded):
            try:
                req = JSONRPCRequest.model_validate(decoded)
            except ValidationError:
                req = None
        named = [(k.decode("latin-1"), v) for k, v in scope["headers"]]
        if (
            req is None
            or req.method == "subscriptions/listen"
            or find_duplicated_routing_header(named) is not None
        ):
            await self.fallback(scope, replay(body, receive), send)
            return
        # what `dict(request.headers)` gives (the first copy of each name), without its O(n) lookups
        headers = {k: v.decode("latin-1") for k, v in reversed(named)}
        verdict = classify_inbound_request(decoded, headers=headers)
        state = self.manager._lifespan_state
        if isinstance(verdict, InboundLadderRejection) or (
            await _mcp_param_rejection(self.server, request, req, verdict, state) is not None
        ):
            await self.fallback(scope, replay(body, receive), send)
            return
        connection = Connection.from_envelope(
            verdict.protocol_version, verdict.client_info, verdict.client_capabilities
        )
        dctx = _SingleExchangeDispatchContext(
            transport=TransportContext(
                kind="streamable-http", can_send_request=False, headers=request.headers
            ),
            request_id=req.id,
            message_metadata=ServerMessageMetadata(request_context=request),
            progress_token=progress_token_from_params(req.params),
        )
        msg = await _to_jsonrpc_response(req.id, _serve_one(self.server, dctx, req, connection, state))
        if isinstance(msg, JSONRPCError):
            await _write(msg, scope, receive, send)  # the SDK's status table for the error code
            return
        # `_write`'s body for a result (status 200), sent without a starlette Response around it
        dumped = msg.model_dump(mode="json", by_alias=True, exclude_none=True)
        payload = _RESPONSE_ENCODER.encode(dumped).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(payload)).encode()), *_JSON_HEADERS],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def _plain_request(self, request: Request, body: bytes) -> JSONRPCRequest | None:
        """The one JSON-RPC request this POST carries, if it is the plain shape; None hands it back
        to the SDK (which then answers it, refusals included, exactly as it always does)."""
        if await self.security.validate_request(request, is_post=True) is not None:
            return None
        has_json, _ = check_accept_headers(request)
        content_type = request.headers.get("content-type", "")
        if not has_json or "application/json" not in (
            part.strip() for part in content_type.split(";")[0].split(",")
        ):
            return None
        try:
            message: Any = jsonrpc_message_adapter.validate_python(
                pydantic_core.from_json(body), by_name=False
            )
        except (ValueError, ValidationError):
            return None
        if not isinstance(message, JSONRPCRequest) or message.method == "initialize":
            return None
        return message
