"""The app factory: an MCPServer plus settings become one ASGI app, the same way for every server."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import anyio
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import (
    CallToolRequestParams,
    CallToolResult,
    Icon,
    InputRequiredResult,
    ToolAnnotations,
)
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._arguments import ArgumentCheck
from ._audit import AuditMiddleware, audit, configure_audit_logging
from ._errors import ToolError
from ._fast import FastPath
from ._gate import Gate
from ._guard import guard
from ._identity import Identity
from ._local import LocalScopeGate, local_identity
from ._scopes import READ_ONLY, LiveToolScopes, requires, tool_scopes
from ._settings import ServerSettings, TrustMode
from .http import endpoint_page, respond, send_error, wants_html

__all__ = ["WhoAmI", "build_app", "caller", "create_server", "run_stdio"]

logger = logging.getLogger("fleet.core")

Ready = Callable[[], Awaitable[None]]


class WhoAmI(BaseModel):
    subject: str = Field(
        description="The caller's stable id (the token's sub), as the front door identified them"
    )
    account: str | None = Field(
        description="The name this server acts as on its backend (null: none usable, so it acts for no one)"
    )
    scopes: list[str] = Field(description="Scopes granted to this call")
    client_id: str | None = Field(description="The OAuth client the caller used")
    issuer: str = Field(description="Who issued the caller's token")
    audience: list[str] = Field(description="Resources the token is for")
    token_id: str | None = Field(description="The token's jti, for audit correlation")
    expires_at: datetime = Field(description="When the caller's token expires")


def caller(ctx: Context[Any, Any]) -> Identity:
    """The checked identity of whoever made this tool call. Fails closed when there is none."""
    request = ctx.request_context.request
    identity = request.scope.get("fleet.identity") if request is not None else local_identity.get()
    if not isinstance(identity, Identity):
        raise ToolError(
            "no caller identity: this server only serves requests that came through the front door"
        )
    return identity


class FleetServer(MCPServer):
    """An MCPServer whose tools never crash bare: each is wrapped by `guard` (DESIGN §6)."""

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        super().add_tool(
            guard(fn, name),
            name=name,
            title=title,
            description=description,
            annotations=annotations,
            icons=icons,
            meta=meta,
            structured_output=structured_output,
        )

    # The runner takes a model or a dict from a handler (the SDK's HandlerResult); MCPServer declares models.
    async def _handle_call_tool(  # type: ignore[override]
        self, ctx: ServerRequestContext[Any], params: CallToolRequestParams
    ) -> CallToolResult | InputRequiredResult | dict[str, Any]:
        return wire_result(await super()._handle_call_tool(ctx, params))


def wire_result(
    result: CallToolResult | InputRequiredResult,
) -> CallToolResult | InputRequiredResult | dict[str, Any]:
    """A tool's CallToolResult as the dict the SDK's runner would make of it, minus one pass over the
    structured content.

    The runner turns a handler's model into a dict (`model_dump`, JSON mode) and then validates and
    dumps that dict again against the protocol version's result model, which walks the structured
    content once more in the same JSON mode; it passes a dict handler result through that second step
    unchanged otherwise (a shallow copy). So the structured content is left as it is here — the second
    step alone makes it JSON — and only the rest is dumped: the response is the same (a core test
    proves it for both protocol eras), and a 10,000-row result is walked one time fewer (issue 18).
    """
    if type(result) is not CallToolResult or result.structured_content is None:
        return result
    wire = result.model_dump(by_alias=True, mode="json", exclude_none=True, exclude={"structured_content"})
    wire["structuredContent"] = result.structured_content
    return wire


def create_server(name: str, *, instructions: str | None = None) -> MCPServer:
    """An MCPServer with the fleet's audit middleware, the crash guard and a `whoami` tool."""
    mcp = FleetServer(
        name, instructions=instructions, middleware=[AuditMiddleware(name)], log_level="WARNING"
    )
    mcp.middleware.append(LocalScopeGate(mcp))
    mcp.middleware.append(ArgumentCheck(mcp))

    @mcp.tool(meta=requires(f"{name}:read"), annotations=READ_ONLY)
    async def whoami(ctx: Context[Any, Any]) -> WhoAmI:
        """Who this server thinks you are: the identity the front door established for this call."""
        who = caller(ctx)
        return WhoAmI(
            subject=who.subject,
            account=who.account,
            scopes=sorted(who.scopes),
            client_id=who.client_id,
            issuer=who.issuer,
            audience=list(who.audience),
            token_id=who.token_id,
            expires_at=who.expires_at,
        )

    return mcp


def _transport_security(settings: ServerSettings) -> TransportSecuritySettings:
    # The SDK's default allows only loopback Hosts and answers a gateway's Host with 421.
    public = urlsplit(settings.public_url)
    hosts = {public.netloc, f"{settings.host}:{settings.port}", "127.0.0.1:*", "localhost:*", "[::1]:*"}
    return TransportSecuritySettings(
        allowed_hosts=sorted(hosts | set(settings.allowed_hosts)),
        allowed_origins=sorted({settings.public_origin, *settings.allowed_origins}),
    )


def _json(status: int, payload: dict[str, Any]) -> tuple[int, bytes]:
    return status, json.dumps(payload).encode()


async def _no_stream(send: Send, server: str, url: str, headers: list[tuple[bytes, bytes]]) -> None:
    allow = [(b"allow", b"POST")]
    if wants_html(headers):
        page = endpoint_page(server, url)
        await respond(send, 405, page, allow, content_type=b"text/html; charset=utf-8")
    else:
        await send_error(
            send,
            405,
            "method_not_allowed",
            "this stateless MCP server takes POST only (no GET stream)",
            allow,
        )


class CallerLimit:
    """At most `limit` requests per caller in flight; the next one is refused at once (429), never
    queued, so one caller's slow calls cannot use up the backend's connections (finding 12.4)."""

    def __init__(self, server: str, limit: int) -> None:
        self.server, self.limit = server, limit
        self.active: dict[str, int] = {}

    async def __call__(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        identity = scope.get("fleet.identity")
        key = identity.subject if isinstance(identity, Identity) else ""
        count = self.active.get(key, 0)
        if count >= self.limit:
            audit(self.server, "denied", identity, status=429, reason="too many concurrent calls")
            await send_error(
                send,
                429,
                "too_many_concurrent_calls",
                f"too many concurrent calls from you (at most {self.limit} at once): "
                "retry when one of them has finished",
                [(b"retry-after", b"1")],
            )
            return
        self.active[key] = count + 1
        try:
            await app(scope, receive, send)
        finally:
            if self.active[key] <= 1:
                del self.active[key]
            else:
                self.active[key] -= 1


def build_app(mcp: MCPServer, settings: ServerSettings, *, ready: Ready | None = None) -> ASGIApp:
    """Stateless Streamable HTTP at `settings.path` behind the trust/scope gate, plus /healthz, /readyz."""
    tool_scopes(mcp)  # raises if a tool declares no scope; the gate then reads them live
    configure_audit_logging()
    if settings.sentry_dsn is not None:
        from ._sentry import init_sentry

        init_sentry(settings.sentry_dsn.get_secret_value(), mcp=mcp)
    if settings.trust_mode is TrustMode.INSECURE_DEV:
        logger.warning(
            "INSECURE-DEV TRUST MODE: %s believes any X-MCP-* headers without proof. Loopback only; "
            "never use this behind a real gateway.",
            mcp.name,
        )
    sdk_app = mcp.streamable_http_app(
        streamable_http_path=settings.path,
        stateless_http=True,
        json_response=True,
        max_request_body_size=settings.max_body_bytes,
        transport_security=_transport_security(settings),
    )
    if not settings.otel_spans:  # the SDK's built-in OpenTelemetry middleware costs ~10% per call
        mcp.middleware[:] = [m for m in mcp.middleware if type(m).__name__ != "OpenTelemetryMiddleware"]
    session_manager = mcp.session_manager
    endpoints = (settings.path, settings.path + "/")
    limit = CallerLimit(mcp.name, settings.max_concurrent_calls)
    mcp_endpoint = FastPath(session_manager) if settings.fast_path else session_manager.asgi_app

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        # The SDK's Starlette app only routes this one path to its session manager; calling the
        # manager directly skips two middleware layers and a router on every request.
        if scope["path"] not in endpoints:
            status, body = _json(404, {"error": "not_found"})
            await respond(send, status, body)
        elif scope["method"] == "GET":
            # Stateless: nothing is ever pushed, and the SDK's GET stream would stay open, silent,
            # holding a connection at every hop (finding 12.4). The spec allows 405 here.
            await _no_stream(send, mcp.name, settings.public_url, scope["headers"])
        else:
            await limit(mcp_endpoint, scope, receive, send)

    gate = Gate(endpoint, settings, mcp.name, LiveToolScopes(mcp))

    async def health(path: str) -> tuple[int, bytes]:
        if path == "/healthz":
            return _json(200, {"ok": True})
        if ready is None:
            return _json(200, {"ready": True})
        try:
            with anyio.fail_after(5):
                await ready()
        except Exception as exc:  # readiness reports any failure; it must never raise
            # unauthenticated, so the detail (hosts, users, driver messages) goes to the log only
            logger.warning("%s not ready: %s", mcp.name, str(exc) or exc.__class__.__name__)
            return _json(503, {"ready": False})
        return _json(200, {"ready": True})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in ("/healthz", "/readyz") and scope["method"] == "GET":
            status, body = await health(scope["path"])
            await respond(send, status, body)
            return
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"] in endpoints
            and wants_html(scope["headers"])
        ):
            # a browser: a page saying what this URL is (nothing about callers, nothing MCP runs)
            await _no_stream(send, mcp.name, settings.public_url, scope["headers"])
            return
        if scope["type"] == "http":
            await gate(scope, receive, send)
            return
        if scope["type"] == "lifespan":

            async def shutdown_aware_receive() -> Message:
                message = await receive()
                if message["type"] == "lifespan.shutdown":
                    await gate.aclose()
                return message

            await sdk_app(scope, shutdown_aware_receive, send)  # starts the SDK's session manager
            return
        await sdk_app(scope, receive, send)

    return app


def run_stdio(mcp: MCPServer, who: Identity) -> None:
    """Serve one local user over stdio. There is no front door, so the identity is given explicitly
    (e.g. from the environment by the server's main) and the scope rules still apply."""
    configure_audit_logging()
    token = local_identity.set(who)
    try:
        mcp.run("stdio")
    finally:
        local_identity.reset(token)
