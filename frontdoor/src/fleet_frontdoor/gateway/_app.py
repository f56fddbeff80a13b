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
from urllib.parse import parse_qsl

import httpx2
import jwt
from starlette.types import Receive, Scope, Send

from fleet_core.jwt import QUERY_TOKEN_PARAMS, InvalidToken, JwksUnavailable, JwksVerifier

from ..manifest import Manifest, ServerEntry
from ._claims import ClaimError, forwarded_headers
from ._cors import CORS
from ._proxy import HOP_BY_HOP, Proxy, error, respond

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
        path: str = scope["path"]
        method: str = scope["method"]
        route, kind, rest = self._match(path)
        if route is None:
            if path in ("/healthz", "/readyz") and method in ("GET", "HEAD"):
                await respond(send, 200, b'{"ok": true}', head=method == "HEAD")
            else:
                await error(send, 404, "not_found", "no MCP server is published at this path")
            return

        auths: list[bytes] = []
        keep: list[tuple[bytes, bytes]] = []
        origin = host = connection = None
        content_length: int | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"authorization":
                auths.append(value)
            elif name in HOP_BY_HOP or name.replace(b"_", b"-").startswith(_FORWARDED_PREFIXES):
                if name == b"connection":
                    connection = value
                elif name == b"transfer-encoding":
                    chunked = True
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
        cors = [(b"access-control-allow-origin", b"*"), (b"access-control-expose-headers", CORS_EXPOSE)]
        if origin is None:
            cors = []

        # CORS preflight: answered like Kong's cors plugin, never challenged (G24)
        if method == "OPTIONS" and origin is not None:
            await respond(
                send,
                200,
                b"",
                [
                    (b"access-control-allow-origin", b"*"),
                    (b"access-control-allow-methods", CORS_METHODS),
                    (b"access-control-allow-headers", CORS_HEADERS),
                    (b"access-control-max-age", CORS_MAX_AGE),
                ],
                content_type=b"text/plain",
            )
            return

        if kind == "prm":
            if method not in ("GET", "HEAD"):
                await error(
                    send,
                    405,
                    "method_not_allowed",
                    "resource metadata is served via GET",
                    [(b"allow", b"GET, HEAD"), *cors],
                )
                return
            await respond(send, 200, route.prm_json, cors, head=method == "HEAD")
            return

        async def challenge(status: int, www: str, code: str, description: str) -> None:
            logger.info("%s %s → %d %s (%s)", method, path, status, code, description)
            await error(send, status, code, description, [(b"www-authenticate", www.encode()), *cors])

        # (G14) a token in the URL is refused, even next to a good header: it would reach logs upstream
        query = scope.get("query_string", b"")
        params = parse_qsl(query.decode("latin-1"), keep_blank_values=True) if query else []
        if any(k.lower() in QUERY_TOKEN_PARAMS for k, _ in params):
            await challenge(
                401,
                f'{route.challenge}, error="invalid_request"',
                "invalid_request",
                "access tokens are accepted in the Authorization header only",
            )
            return
        # (G15) every Authorization value would be forwarded: validating one while proxying another
        # would smuggle an unchecked credential past the gateway
        if len(auths) > 1:
            await challenge(
                400,
                f'{route.meta}, error="invalid_request"',
                "invalid_request",
                "multiple Authorization headers are not allowed",
            )
            return
        token = b""
        if auths and len(auths[0]) > 7 and auths[0][:7].lower() == b"bearer ":
            token = auths[0][7:].strip()
        if not token:  # no credentials, or another scheme (Basic): a bare challenge, RFC 6750 §3.1
            await challenge(401, route.challenge, "unauthorized", "missing bearer token")
            return
        key = (token, route.server.name)
        cached = self._verified.get(key)
        try:
            if cached is not None and cached[0] + self.leeway > time.time():
                _, claims, identity = cached
            else:
                raw = token.decode("ascii")
                # the plugin pins RS256/384/512 (keyfunc + golang-jwt); fleet_core would also take ES*,
                # so pin here too: a token Kong refuses must not work against the dev gateway
                if jwt.get_unverified_header(raw).get("alg") not in PLUGIN_ALGORITHMS:
                    raise InvalidToken("algorithm not accepted by the gateway")
                claims = await self.verifier.verify(raw, audience=route.server.resource)
                identity = [(n.encode(), v.encode()) for n, v in forwarded_headers(claims) if v]
                if len(self._verified) >= VERIFIED_CACHE_SIZE:
                    self._verified.clear()
                self._verified[key] = (float(claims["exp"]), claims, identity)
        except JwksUnavailable as exc:
            # an infrastructure problem, not a token problem: don't send the client back to OAuth (G12)
            logger.error("token keys unavailable: %s", exc)
            await error(send, 503, "temporarily_unavailable", "token verification keys are unavailable", cors)
            return
        except (InvalidToken, ClaimError, UnicodeDecodeError, jwt.PyJWTError) as exc:
            logger.info("rejected token: %s", exc)
            await challenge(
                401,
                f'{route.challenge}, error="invalid_token"',
                "invalid_token",
                "invalid or expired access token",
            )
            return
        granted = (claims.get("scope") or "").split() if isinstance(claims.get("scope"), str) else []
        if not all(s in granted for s in route.required):
            required = " ".join(route.required)
            await challenge(
                403,
                f'{route.meta}, error="insufficient_scope", scope="{required}"',
                "insufficient_scope",
                f"requires scope: {required}",
            )
            return

        if connection:  # fields named by Connection are hop-by-hop too
            named = {t.strip().lower() for t in connection.split(b",")}
            keep = [(n, v) for n, v in keep if n not in named]
        client = scope.get("client")
        server = scope.get("server")
        keep.append((b"x-forwarded-for", (client[0] if client else "").encode()))
        keep.append((b"x-forwarded-proto", scope.get("scheme", "http").encode()))
        if host:
            keep.append((b"x-forwarded-host", host))
        if server and server[1]:
            keep.append((b"x-forwarded-port", str(server[1]).encode()))
        keep.append((b"x-forwarded-prefix", route.server.path.encode()))
        # X-MCP-*: set from the verified claims, absent claims left cleared (G18, G19, G21)
        keep.extend(identity)
        if self.passthrough:
            keep.append((b"authorization", auths[0]))
        keep.append(route.secret)
        raw_path = scope.get("raw_path")
        if raw_path:  # forward the path as the client encoded it (a %2F must stay a %2F)
            prefix = route.server.path.encode()
            if not raw_path.startswith(prefix):
                await error(send, 404, "not_found", "no MCP server is published at this path")
                return
            rest = raw_path[len(prefix) :].decode("latin-1")
        url = route.base + rest
        if query:
            url += "?" + query.decode("latin-1")
        await self.proxy.forward(
            scope,
            receive,
            send,
            url=url,
            headers=keep,
            content_length=content_length,
            chunked=chunked,
            extra_response_headers=cors,
        )


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
