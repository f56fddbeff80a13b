"""ASGI middleware in front of the SDK app: who is calling (trust modes, §3.1) and may they (§3.2)?

Every refusal happens here, before any MCP handling, as an HTTP status with a JSON body and
one audit line. The SDK app only ever sees requests that carry a checked Identity in
`scope["fleet.identity"]`.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pydantic_core
from starlette.types import ASGIApp, Receive, Scope, Send

from ._audit import audit
from ._identity import (
    Identity,
    IdentityError,
    IdentityExpired,
    claim_fields,
    header_fields,
    identity_from_fields,
)
from ._settings import ServerSettings, TrustMode
from .http import authorization_values, bearer_challenge, bearer_token, replay, send_error, token_in_query

if TYPE_CHECKING:
    from .jwt import JwksVerifier

__all__ = ["Gate"]

GATEWAY_SECRET_HEADER = b"x-mcp-gateway-secret"


class Refused(Exception):
    def __init__(
        self, status: int, error: str, reason: str, description: str, scope: str = "", tool: str | None = None
    ) -> None:
        super().__init__(reason)
        self.status, self.error, self.reason, self.description = status, error, reason, description
        self.scope, self.tool = scope, tool


def _unauthorized(reason: str) -> Refused:
    # The caller learns only that the identity was not accepted; the reason goes to the audit log.
    return Refused(401, "invalid_token", reason, "missing or invalid credentials")


class Gate:
    def __init__(
        self, app: ASGIApp, settings: ServerSettings, server: str, tool_scopes: Mapping[str, str]
    ) -> None:
        self.app = app
        self.settings = settings
        self.server = server
        self.tool_scopes = tool_scopes
        self.base_scope = f"{server}:read"
        self.mode = settings.trust_mode
        self.audience = settings.public_url
        self.secrets = [s.get_secret_value().encode() for s in settings.gateway_secrets]
        self.leeway = timedelta(seconds=settings.jwt_leeway_seconds)
        self.verifier: JwksVerifier | None = None
        if self.mode is TrustMode.JWT:
            # imported here: PyJWT and its cryptography backend cost every other mode ~3 MB of RSS
            from .jwt import JwksVerifier

            self.verifier = JwksVerifier(
                settings.issuer,
                leeway=settings.jwt_leeway_seconds,
                refetch_interval=settings.jwks_refetch_seconds,
                jwks_uri=settings.jwks_url or None,
            )
        prm = settings.resource_metadata_url
        self.challenge = (
            bearer_challenge(("error", "invalid_token"), ("resource_metadata", prm))
            if self.mode is TrustMode.JWT
            else bearer_challenge(("resource_metadata", prm))
        )
        self.prm = prm

    async def aclose(self) -> None:
        if self.verifier is not None:
            await self.verifier.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        identity: Identity | None = None
        try:
            identity = await self._authenticate(scope)
            body = await self._read_body(scope, receive)
            tool = self._check_scopes(scope, body, identity)
        except Refused as refusal:
            named = {"tool": refusal.tool} if refusal.tool is not None else {}  # like an answered call's line
            audit(self.server, "denied", identity, status=refusal.status, reason=refusal.reason, **named)
            await self._refuse(send, refusal)
            return
        scope["fleet.identity"] = identity
        if tool is not None:
            scope["fleet.tool"] = tool
        await self.app(scope, replay(body, receive), send)

    async def _authenticate(self, scope: Scope) -> Identity:
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        now = datetime.now(UTC)
        try:
            if self.mode is TrustMode.JWT:
                if self.secrets:  # the second lock (DESIGN §3.1): only this server's gateway knows it
                    self._check_secret(headers)
                return await self._from_token(scope, headers, now)
            if self.mode is TrustMode.GATEWAY_SECRET:
                self._check_secret(headers)
            return identity_from_fields(
                header_fields(headers),
                audience=self.audience,
                issuer=self.settings.issuer,
                now=now,
                account=self.settings.account_for,
            )
        except IdentityExpired as exc:
            # Shaped like the gateway's answer to an expired token (it forwards one up to its leeway
            # past `exp`; this check is stricter), so the client refreshes instead of giving up.
            raise Refused(
                401, "invalid_token", str(exc), "the access token has expired", self.base_scope
            ) from None
        except IdentityError as exc:
            raise _unauthorized(str(exc)) from None

    def _check_secret(self, headers: list[tuple[bytes, bytes]]) -> None:
        presented = [value for name, value in headers if name.lower() == GATEWAY_SECRET_HEADER]
        if len(presented) != 1:
            raise IdentityError("gateway secret missing or duplicated")
        # Constant-time compare against every accepted secret (rotation), no early exit.
        matches = [hmac.compare_digest(presented[0], secret) for secret in self.secrets]
        if not any(matches):
            raise IdentityError("wrong gateway secret")

    async def _from_token(self, scope: Scope, headers: list[tuple[bytes, bytes]], now: datetime) -> Identity:
        from .jwt import InvalidToken, JwksUnavailable

        assert self.verifier is not None
        if token_in_query(scope.get("query_string", b"")):
            raise IdentityError("token in query string")  # MCP authorization: MUST NOT be in the URI
        auth = authorization_values(headers)
        if len(auth) != 1:
            raise IdentityError("missing or duplicated Authorization header")
        token = bearer_token(auth[0])
        if token is None:
            raise IdentityError("not a bearer token")
        try:
            claims = await self.verifier.verify(token, audience=self.audience)
        except InvalidToken as exc:
            raise IdentityError(f"token rejected: {exc}") from None
        except JwksUnavailable as exc:
            raise Refused(
                503, "temporarily_unavailable", str(exc), "token keys unavailable, retry later"
            ) from None
        derived = claim_fields(claims)
        # Headers a passthrough gateway also set must say the same thing as the token.
        for name, value in header_fields(headers).items():
            if derived.get(name) != value:
                raise IdentityError(f"{name} header disagrees with the token")
        who = identity_from_fields(
            derived, audience=self.audience, issuer=self.settings.issuer, now=now - self.leeway
        )
        return replace(who, account=self.settings.account_for(who.subject, claims))

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.settings.max_body_bytes
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                raise Refused(413, "request_too_large", "body over limit", f"body exceeds {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Refused(400, "invalid_request", "client disconnected", "incomplete request")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise Refused(413, "request_too_large", "body over limit", f"body exceeds {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _check_scopes(self, scope: Scope, body: bytes, identity: Identity) -> str | None:
        needed = {self.base_scope}
        tool: str | None = None
        if scope["method"] == "POST" and body:
            try:
                # The SDK's legacy path parses with this parser, so duplicate keys resolve the same way.
                message: Any = pydantic_core.from_json(body)
            except ValueError:
                # Never fail open: another parser (the SDK's 2026-07-28 path uses json.loads) might
                # accept what this one can't read (a BOM, a lone surrogate, UTF-16) and run a tool
                # this gate never saw.
                raise Refused(400, "invalid_request", "unparseable body", "the body is not JSON") from None
            messages = message if isinstance(message, list) else [message]
            for msg in messages:
                if isinstance(msg, dict) and msg.get("method") == "tools/call":
                    params = msg.get("params")
                    name = params.get("name") if isinstance(params, dict) else None
                    if isinstance(name, str):
                        tool = name
                        if name in self.tool_scopes:
                            needed.add(self.tool_scopes[name])
            self._check_routing_headers(scope, messages)
        missing = needed - identity.scopes
        if missing:
            raise Refused(
                403,
                "insufficient_scope",
                f"missing {' '.join(sorted(missing))} for {tool or scope['method']}",
                f"this call needs scope {' '.join(sorted(needed))}",
                scope=" ".join(sorted(needed)),
                tool=tool,
            )
        return tool

    def _check_routing_headers(self, scope: Scope, messages: list[Any]) -> None:
        # 2026-07-28 clients repeat method and tool name in headers; a mismatch with the body is an attack
        # on whoever routes by header (us, a gateway), so refuse it.
        method = name = None
        for header, value in scope["headers"]:
            if header in (b"mcp-method", b"mcp-name"):
                if (method if header == b"mcp-method" else name) is not None:
                    # a router that reads the first copy and a check that reads the last disagree
                    raise Refused(
                        400, "invalid_request", f"duplicated {header.decode()} header", "duplicated header"
                    )
                if header == b"mcp-method":
                    method = value.decode("latin-1")
                else:
                    name = value.decode("latin-1")
        if method is None and name is None:
            return
        msg: dict[str, Any] = messages[0] if len(messages) == 1 and isinstance(messages[0], dict) else {}
        raw_params = msg.get("params")
        params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
        if (method is not None and method != msg.get("method")) or (
            name is not None and msg.get("method") == "tools/call" and name != params.get("name")
        ):
            raise Refused(
                400, "invalid_request", "Mcp-Method/Mcp-Name disagree with body", "header/body mismatch"
            )

    async def _refuse(self, send: Send, refusal: Refused) -> None:
        headers: list[tuple[bytes, bytes]] = []
        if refusal.status == 401 and refusal.scope:  # an expired token: what the gateway says
            www = bearer_challenge(
                ("resource_metadata", self.prm), ("scope", refusal.scope), ("error", "invalid_token")
            )
            headers.append((b"www-authenticate", www))
        elif refusal.status == 401:
            headers.append((b"www-authenticate", self.challenge))
        elif refusal.status == 403:
            www = bearer_challenge(
                ("error", "insufficient_scope"), ("scope", refusal.scope), ("resource_metadata", self.prm)
            )
            headers.append((b"www-authenticate", www))
        elif refusal.status == 503:
            headers.append((b"retry-after", b"5"))
        await send_error(send, refusal.status, refusal.error, refusal.description, headers)
