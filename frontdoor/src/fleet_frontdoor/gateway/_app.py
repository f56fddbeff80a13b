"""The dev gateway: route by route, the kong-mcp-oauth2 plugin's behaviour (plus Kong's cors plugin).

Per server in the manifest it serves the RFC 9728 metadata at the path-inserted well-known URL and
guards `/mcp/<name>`: bearer token in the header only, RS/ES-pinned JWT checks (fleet_core.jwt),
`<name>:read` required, then the request goes upstream with the X-MCP-* identity headers set from the
claims, every client-sent X-MCP-* header removed, the bearer stripped (unless passthrough) and the
gateway secret added. Plain ASGI, no framework, on the hot path.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx2
import jwt
from starlette.types import Receive, Scope, Send

from fleet_core.http import bearer_token, endpoint_page, respond, send_error, token_in_query, wants_html
from fleet_core.jwt import InvalidToken, JwksUnavailable, JwksVerifier

from ..manifest import Manifest, ServerEntry
from ._claims import ClaimError, forwarded_headers
from ._cors import CORS
from ._proxy import HOP_BY_HOP, Proxy

__all__ = ["GATEWAY_SECRET_HEADER", "build_gateway"]

logger = logging.getLogger("fleet.gateway")

GATEWAY_SECRET_HEADER = "X-MCP-Gateway-Secret"  # noqa: S105 - a header name
UpstreamAuthMode = Literal["strip", "passthrough"]

CORS_EXPOSE = ", ".join(CORS.exposed_headers).encode()
CORS_METHODS = ", ".join(CORS.methods).encode()
CORS_HEADERS = ", ".join(CORS.headers).encode()
CORS_MAX_AGE = str(CORS.max_age).encode()
VERIFIED_CACHE_SIZE = 10_000
PLUGIN_ALGORITHMS = frozenset({"RS256", "RS384", "RS512"})
# Never taken from the client (G18). Compared with "_" read as "-": WSGI/CGI-style upstreams fold both
# into one name, so `x-mcp_subject` would otherwise arrive as X-MCP-Subject there.
_FORWARDED_PREFIXES = (b"x-forwarded-", b"x-mcp-")


class _Refusal(Exception):
    """An answer instead of the upstream's: status, RFC 6750 error code, description, challenge."""

    def __init__(
        self, status: int, code: str, description: str, challenge: str | None = None, *, close: bool = False
    ) -> None:
        super().__init__(description)
        self.status, self.code, self.description, self.challenge = status, code, description, challenge
        self.close = close


@dataclass(slots=True)
class _Incoming:
    """One client request's head, sorted: what we check, what we forward, what we drop."""

    scope: Scope
    method: str
    query: bytes
    auths: list[bytes]
    keep: list[tuple[bytes, bytes]]  # forwarded as is
    origin: bytes | None
    host: bytes | None
    connection: bytes | None
    upgrade: bool
    content_length: int | None
    chunked: bool
    cors: list[tuple[bytes, bytes]]

    @classmethod
    def read(cls, scope: Scope) -> _Incoming:
        auths: list[bytes] = []
        keep: list[tuple[bytes, bytes]] = []
        origin = host = connection = None
        content_length: int | None = None
        chunked = upgrade = False
        for name, value in scope["headers"]:
            if name == b"authorization":
                auths.append(value)
            elif name in HOP_BY_HOP or name.replace(b"_", b"-").startswith(_FORWARDED_PREFIXES):
                if name == b"connection":
                    connection = value
                elif name == b"transfer-encoding":
                    chunked = True
                elif name == b"upgrade":
                    upgrade = True
            elif name == b"host":
                host = value
            elif name in (b"forwarded", b"expect"):  # body already read or streamed by us
                continue
            else:
                if name == b"origin":
                    origin = value
                elif name == b"content-length":
                    content_length = int(value) if value.isdigit() else None
                keep.append((name, value))
        cors = (
            []
            if origin is None
            else [(b"access-control-allow-origin", b"*"), (b"access-control-expose-headers", CORS_EXPOSE)]
        )
        return cls(
            scope=scope,
            method=scope["method"],
            query=scope.get("query_string", b""),
            auths=auths,
            keep=keep,
            origin=origin,
            host=host,
            connection=connection,
            upgrade=upgrade and connection is not None and b"upgrade" in connection.lower(),
            content_length=content_length,
            chunked=chunked,
            cors=cors,
        )


@dataclass(frozen=True, slots=True)
class _Route:
    server: ServerEntry
    prm_json: bytes
    base: str  # upstream + "/mcp": the servers serve MCP at /mcp
    challenge: str  # Bearer resource_metadata="…", scope="<name>:read"
    meta: str  # Bearer resource_metadata="…"
    required: tuple[str, ...]
    secret: tuple[bytes, bytes]  # this server's X-MCP-Gateway-Secret header: one secret per server


class Gateway:
    def __init__(
        self,
        manifest: Manifest,
        *,
        secret: str | Mapping[str, str],
        upstream_auth_mode: UpstreamAuthMode,
        transport: httpx2.AsyncBaseTransport | None,
        verifier: JwksVerifier | None,
        upstream_timeout: float,
    ) -> None:
        names = [s.name for s in manifest.enabled_servers]
        per_server = {n: secret for n in names} if isinstance(secret, str) else dict(secret)
        for name in names:
            value = per_server.get(name, "")
            if not value or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
                raise ValueError(f"the gateway secret of {name!r} must be a non-empty header-safe string")
        self.issuer = manifest.issuer.url
        self.passthrough = upstream_auth_mode == "passthrough"
        self.verifier = verifier or JwksVerifier(self.issuer, leeway=manifest.gateway.leeway_seconds)
        self._owns_verifier = verifier is None
        self._owns_transport = transport is None
        if transport is None:
            # the transport, not an AsyncClient: no redirects, cookies, auth flows or URL logging on the
            # hot path, just the pooled HTTP/1.1 connections
            limits = httpx2.Limits(max_connections=512, max_keepalive_connections=64, keepalive_expiry=30)
            # retries: connection failures only (never a request the upstream may have seen)
            transport = httpx2.AsyncHTTPTransport(limits=limits, trust_env=False, retries=1)
        self.proxy = Proxy(transport, timeout=upstream_timeout)
        self.leeway = manifest.gateway.leeway_seconds
        # (token, route) → (exp, claims, identity headers): the signature is checked once per token,
        # expiry on every request (offline validation can't see revocation either way: keep TTLs short)
        self._verified: dict[tuple[bytes, str], tuple[float, dict[str, Any], list[tuple[bytes, bytes]]]] = {}
        self.routes: dict[str, _Route] = {}
        self.prm: dict[str, _Route] = {}
        for server in manifest.enabled_servers:
            scopes = (server.read_scope,)
            meta = f'Bearer resource_metadata="{server.prm_url}"'
            route = _Route(
                server=server,
                prm_json=json.dumps(
                    {
                        "resource": server.resource,  # RFC 9728 §3.3: byte-equal to origin + path
                        "authorization_servers": [self.issuer],
                        "bearer_methods_supported": ["header"],
                        # like the plugin: the scopes the route requires (write comes by step-up, §3.2)
                        "scopes_supported": list(scopes),
                    }
                ).encode(),
                base=server.upstream + "/mcp",
                challenge=f'{meta}, scope="{" ".join(scopes)}"',
                meta=meta,
                required=scopes,
                secret=(GATEWAY_SECRET_HEADER.lower().encode(), per_server[server.name].encode()),
            )
            self.routes[server.name] = route
            self.prm[server.prm_path] = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        if self._owns_transport:
            await self.proxy.transport.aclose()
        if self._owns_verifier:
            await self.verifier.aclose()

    def _match(self, path: str) -> tuple[_Route | None, str, str]:
        """(route, kind, rest): kind is "prm", "mcp" or "" (no route)."""
        prm = self.prm.get(path[:-1] if path.endswith("/") else path)
        if prm is not None:
            return prm, "prm", ""
        if path.startswith("/mcp/"):
            name, slash, rest = path[5:].partition("/")
            route = self.routes.get(name)
            # nginx would resolve dot segments before routing; refuse them rather than let the
            # upstream URL normalise its way out of /mcp
            if route is not None and not any(seg in (".", "..") for seg in rest.split("/")):
                return route, "mcp", slash + rest
        return None, "", ""

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        route, kind, rest = self._match(scope["path"])
        if route is None:
            await self._unrouted(scope, send)
            return
        request = _Incoming.read(scope)
        if request.method == "OPTIONS" and request.origin is not None:
            await self._preflight(send)  # answered like Kong's cors plugin, never challenged (G24)
            return
        if kind == "prm":
            await self._metadata(route, request, send)
            return
        if request.method == "GET" and not request.auths and wants_html(scope["headers"]):
            await self._browser_page(route, request, send)
            return
        try:
            self._check_framing(request)
            claims, identity = await self._authenticate(route, request)
            self._authorize(route, claims)
            url, headers = self._upstream_request(route, request, identity, rest)
        except _Refusal as refusal:
            await self._refuse(request, refusal, send)
            return
        await self.proxy.forward(
            scope,
            receive,
            send,
            url=url,
            headers=headers,
            content_length=request.content_length,
            chunked=request.chunked,
            extra_response_headers=request.cors,
        )

    async def _unrouted(self, scope: Scope, send: Send) -> None:
        method = scope["method"]
        if scope["path"] in ("/healthz", "/readyz") and method in ("GET", "HEAD"):
            await respond(send, 200, b'{"ok": true}', head=method == "HEAD")
        else:
            await send_error(send, 404, "not_found", "no MCP server is published at this path")

    async def _preflight(self, send: Send) -> None:
        headers = [
            (b"access-control-allow-origin", b"*"),
            (b"access-control-allow-methods", CORS_METHODS),
            (b"access-control-allow-headers", CORS_HEADERS),
            (b"access-control-max-age", CORS_MAX_AGE),
        ]
        await respond(send, 200, b"", headers, content_type=b"text/plain")

    async def _metadata(self, route: _Route, request: _Incoming, send: Send) -> None:
        if request.method not in ("GET", "HEAD"):
            allow = [(b"allow", b"GET, HEAD"), *request.cors]
            await send_error(send, 405, "method_not_allowed", "resource metadata is served via GET", allow)
            return
        await respond(send, 200, route.prm_json, request.cors, head=request.method == "HEAD")

    async def _browser_page(self, route: _Route, request: _Incoming, send: Send) -> None:
        # Still the 401 and its challenge; the body tells a person what this URL is (issue 13.15).
        page = endpoint_page(route.server.name, route.server.resource)
        headers = [(b"www-authenticate", route.challenge.encode()), *request.cors]
        await respond(send, 401, page, headers, content_type=b"text/html; charset=utf-8")

    def _check_framing(self, request: _Incoming) -> None:
        # The server hands an Upgrade request's body to nobody (the bytes after the head belong to
        # the new protocol): refuse rather than forward a Content-Length with no body (finding 12.5).
        # An Upgrade without a body (curl --http2's h2c offer) is just declined: the header is dropped.
        if request.upgrade and (request.chunked or request.content_length):
            raise _Refusal(
                400, "invalid_request", "a protocol upgrade cannot carry a request body", close=True
            )

    async def _authenticate(
        self, route: _Route, request: _Incoming
    ) -> tuple[dict[str, Any], list[tuple[bytes, bytes]]]:
        """The verified claims and the X-MCP-* headers derived from them, or a refusal."""
        # (G14) a token in the URL is refused, even next to a good header: it would reach logs upstream
        if token_in_query(request.query):
            raise _Refusal(
                401,
                "invalid_request",
                "access tokens are accepted in the Authorization header only",
                f'{route.challenge}, error="invalid_request"',
            )
        # (G15) every Authorization value would be forwarded: validating one while proxying another
        # would smuggle an unchecked credential past the gateway
        if len(request.auths) > 1:
            raise _Refusal(
                400,
                "invalid_request",
                "multiple Authorization headers are not allowed",
                f'{route.meta}, error="invalid_request"',
            )
        token = bearer_token(request.auths[0]) if request.auths else None
        if token is None:  # no credentials, or another scheme (Basic): a bare challenge, RFC 6750 §3.1
            raise _Refusal(401, "unauthorized", "missing bearer token", route.challenge)
        key = (token.encode("latin-1"), route.server.name)
        cached = self._verified.get(key)
        if cached is not None and cached[0] + self.leeway > time.time():
            return cached[1], cached[2]
        try:
            # the plugin pins RS256/384/512 (keyfunc + golang-jwt); fleet_core would also take ES*,
            # so pin here too: a token Kong refuses must not work against the dev gateway
            if jwt.get_unverified_header(token).get("alg") not in PLUGIN_ALGORITHMS:
                raise InvalidToken("algorithm not accepted by the gateway")
            claims = await self.verifier.verify(token, audience=route.server.resource)
            identity = [(n.encode(), v.encode()) for n, v in forwarded_headers(claims) if v]
        except JwksUnavailable as exc:
            # an infrastructure problem, not a token problem: don't send the client back to OAuth (G12)
            logger.error("token keys unavailable: %s", exc)
            raise _Refusal(
                503, "temporarily_unavailable", "token verification keys are unavailable"
            ) from None
        except (InvalidToken, ClaimError, UnicodeError, jwt.PyJWTError) as exc:
            logger.info("rejected token: %s", exc)
            # a genuine token for another audience, or an expired one, is told so; anything else stays vague
            public = exc.public if isinstance(exc, InvalidToken) else None
            raise _Refusal(
                401,
                "invalid_token",
                public or "invalid or expired access token",
                f'{route.challenge}, error="invalid_token"',
            ) from None
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[key] = (float(claims["exp"]), claims, identity)
        return claims, identity

    def _authorize(self, route: _Route, claims: dict[str, Any]) -> None:
        granted = (claims.get("scope") or "").split() if isinstance(claims.get("scope"), str) else []
        if not all(s in granted for s in route.required):
            required = " ".join(route.required)
            raise _Refusal(
                403,
                "insufficient_scope",
                f"requires scope: {required}",
                f'{route.meta}, error="insufficient_scope", scope="{required}"',
            )

    def _upstream_request(
        self, route: _Route, request: _Incoming, identity: list[tuple[bytes, bytes]], rest: str
    ) -> tuple[str, list[tuple[bytes, bytes]]]:
        """The upstream URL and the headers it gets: the client's minus hop-by-hop, plus ours."""
        keep = request.keep
        if request.connection:  # fields named by Connection are hop-by-hop too
            named = {t.strip().lower() for t in request.connection.split(b",")}
            keep = [(n, v) for n, v in keep if n not in named]
        scope = request.scope
        client, server = scope.get("client"), scope.get("server")
        keep.append((b"x-forwarded-for", (client[0] if client else "").encode()))
        keep.append((b"x-forwarded-proto", scope.get("scheme", "http").encode()))
        if request.host:
            keep.append((b"x-forwarded-host", request.host))
        if server and server[1]:
            keep.append((b"x-forwarded-port", str(server[1]).encode()))
        keep.append((b"x-forwarded-prefix", route.server.path.encode()))
        # X-MCP-*: set from the verified claims, absent claims left cleared (G18, G19, G21)
        keep.extend(identity)
        if self.passthrough:
            keep.append((b"authorization", request.auths[0]))
        keep.append(route.secret)
        raw_path = scope.get("raw_path")
        if raw_path:  # forward the path as the client encoded it (a %2F must stay a %2F)
            prefix = route.server.path.encode()
            if not raw_path.startswith(prefix):
                raise _Refusal(404, "not_found", "no MCP server is published at this path")
            rest = raw_path[len(prefix) :].decode("latin-1")
        url = route.base + rest
        if request.query:
            url += "?" + request.query.decode("latin-1")
        return url, keep

    async def _refuse(self, request: _Incoming, refusal: _Refusal, send: Send) -> None:
        headers = list(request.cors)
        if refusal.challenge is not None:
            logger.info(
                "%s %s → %d %s (%s)",
                request.method,
                request.scope["path"],
                refusal.status,
                refusal.code,
                refusal.description,
            )
            headers.insert(0, (b"www-authenticate", refusal.challenge.encode()))
        if refusal.close:
            headers.append((b"connection", b"close"))
        await send_error(send, refusal.status, refusal.code, refusal.description, headers)


def build_gateway(
    manifest: Manifest,
    *,
    secret: str | Mapping[str, str],
    upstream_auth_mode: UpstreamAuthMode | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
    verifier: JwksVerifier | None = None,
    upstream_timeout: float = 60.0,
) -> Gateway:
    """The dev gateway as an ASGI app for every enabled server in the manifest.

    `secret` is sent upstream as X-MCP-Gateway-Secret: one per server name (production topology), or one
    string for all; `upstream_auth_mode` defaults to the manifest's.
    `transport` (the pooled connections to upstreams) and `verifier` are injectable; the gateway closes
    only what it created. `upstream_timeout` bounds connect/read/write/pool waits on the upstream.
    """
    return Gateway(
        manifest,
        secret=secret,
        upstream_auth_mode=upstream_auth_mode or manifest.gateway.upstream_auth_mode,
        transport=transport,
        verifier=verifier,
        upstream_timeout=upstream_timeout,
    )
