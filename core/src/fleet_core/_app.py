"""The app factory: an MCPServer plus settings become one ASGI app, the same way for every server."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._audit import AuditMiddleware, configure_audit_logging
from ._errors import ToolError
from ._gate import Gate
from ._identity import Identity
from ._local import LocalScopeGate, local_identity
from ._scopes import READ_ONLY, requires, tool_scopes
from ._settings import ServerSettings, TrustMode

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


def create_server(name: str, *, instructions: str | None = None) -> MCPServer:
    """An MCPServer with the fleet's audit middleware and a `whoami` tool."""
    mcp = MCPServer(name, instructions=instructions, middleware=[AuditMiddleware(name)], log_level="WARNING")
    mcp.middleware.append(LocalScopeGate(mcp))

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


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def build_app(mcp: MCPServer, settings: ServerSettings, *, ready: Ready | None = None) -> ASGIApp:
    """Stateless Streamable HTTP at `settings.path` behind the trust/scope gate, plus /healthz, /readyz."""
    scopes = tool_scopes(mcp)  # raises if a tool declares no scope
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

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        # The SDK's Starlette app only routes this one path to its session manager; calling the
        # manager directly skips two middleware layers and a router on every request.
        if scope["path"] in endpoints:
            await session_manager.asgi_app(scope, receive, send)
            return
        status, body = _json(404, {"error": "not_found"})
        await _respond(send, status, body)

    gate = Gate(endpoint, settings, mcp.name, scopes)

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
            await _respond(send, status, body)
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
