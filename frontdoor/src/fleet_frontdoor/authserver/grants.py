"""POST /oauth/token: authorization_code (+PKCE), refresh_token (rotation, reuse detection),
client_credentials, and the RFC 8628 device_code grant."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fleet_frontdoor.authserver.clients import DEVICE_GRANT, Client, authenticate_client
from fleet_frontdoor.authserver.context import (
    NO_STORE,
    Context,
    OAuthError,
    digest,
    grantable,
    requested_scopes,
    single,
    url_encoded_form,
)
from fleet_frontdoor.authserver.store import loads
from fleet_frontdoor.authserver.tokens import USERNAME_CLAIM, Grant, TokenError, user_grant

PKCE_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 §4.1
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5


async def token(ctx: Context, request: Request) -> Response:
    try:
        form = await url_encoded_form(request)
        grant_type = single(form, "grant_type")
        handler = HANDLERS.get(grant_type or "")
        if handler is None:
            raise OAuthError("unsupported_grant_type", "unsupported grant_type")
        client = await authenticate_client(ctx, request, form)
        if grant_type not in client.grant_types:
            raise OAuthError("unauthorized_client", f"this client may not use {grant_type}")
        return JSONResponse(await handler(ctx, client, form), headers=NO_STORE)
    except OAuthError as exc:
        return exc.response()


async def _authorization_code(ctx: Context, client: Client, form: FormData) -> dict[str, Any]:
    code, verifier = single(form, "code"), single(form, "code_verifier")
    if not code:
        raise OAuthError("invalid_request", "code is required")
    row = ctx.store.one("SELECT data, expires, used, family FROM codes WHERE code_hash = ?", digest(code))
    if row is None:
        raise OAuthError("invalid_grant", "unknown authorization code")
    if ctx.store.run("UPDATE codes SET used = 1 WHERE code_hash = ? AND used = 0", digest(code)) != 1:
        # RFC 6749 §4.1.2: a replayed code revokes what it already produced
        ctx.tokens.revoke_family(row["family"])
        raise OAuthError("invalid_grant", "authorization code already used; its tokens are revoked")
    # Only now, with the code spent: a request without a verifier must cost the code like a wrong
    # verifier does, or the code could be probed for free (finding 12.6).
    if not verifier:
        raise OAuthError("invalid_request", "code_verifier is required (PKCE)")
    data = loads(row["data"])
    if row["expires"] <= ctx.clock():
        raise OAuthError("invalid_grant", "authorization code expired")
    if data["client_id"] != client.client_id:
        raise OAuthError("invalid_grant", "code was issued to another client")
    if single(form, "redirect_uri") != data["redirect_uri"]:
        raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
    if not PKCE_VERIFIER.fullmatch(verifier) or not secrets.compare_digest(
        _s256(verifier), data["code_challenge"]
    ):
        raise OAuthError("invalid_grant", "PKCE verification failed")
    _same_resource(ctx, form, data["resource"])
    grant = user_grant(data["user"], client.client_id, data["scope"], data["resource"], row["family"])
    return _issue(ctx, client, grant)


async def _refresh_token(ctx: Context, client: Client, form: FormData) -> dict[str, Any]:
    raw = single(form, "refresh_token")
    if not raw:
        raise OAuthError("invalid_request", "refresh_token is required")
    try:
        claims = ctx.tokens.decode(raw, "refresh")
    except TokenError as exc:
        raise OAuthError("invalid_grant", f"refresh token rejected: {exc}") from None
    if claims["client_id"] != client.client_id:
        raise OAuthError("invalid_grant", "refresh token was issued to another client")
    row = ctx.store.one("SELECT family FROM refresh WHERE jti = ?", claims["jti"])
    if row is None:  # decode() just found it live: gone only if purged in between
        raise OAuthError("invalid_grant", "refresh token rejected: token revoked")
    family = row["family"]
    _same_resource(ctx, form, claims["resource"])
    original = claims["scope"].split()
    asked = (single(form, "scope") or "").split() or original
    if not set(asked) <= set(original):
        # RFC 6749 §6: refresh may narrow, never widen
        raise OAuthError("invalid_scope", "refresh cannot add scopes")
    username = claims.get(USERNAME_CLAIM)
    user = ctx.manifest.user(username) if isinstance(username, str) else None
    scope = grantable([s for s in original if s in asked], user.scopes if user else ())
    if not ctx.tokens.use_refresh(claims["jti"]):
        # RFC 9700 §4.14.2: a rotated refresh token came back, so one copy is stolen: revoke the grant
        ctx.tokens.revoke_family(family)
        raise OAuthError("invalid_grant", "refresh token reuse detected; the grant is revoked")
    if not scope:
        raise OAuthError("invalid_grant", "the user no longer holds these scopes")
    grant = Grant(
        claims["sub"],
        claims["user_id"],
        client.client_id,
        scope,
        claims["resource"],
        family,
        user.name if user else None,
    )
    return _issue(ctx, client, grant)


async def _client_credentials(ctx: Context, client: Client, form: FormData) -> dict[str, Any]:
    if client.public:
        raise OAuthError("unauthorized_client", "client_credentials needs a confidential client")
    server = ctx.check_resource(form.getlist("resource"))
    scope = grantable(requested_scopes(single(form, "scope"), server), client.scopes)
    if not scope:
        raise OAuthError("invalid_scope", f"this client holds no {server.name} scope")
    subject = f"client:{client.client_id}"
    family = ctx.tokens.new_family(lifetime=ctx.tokens.access_ttl)
    token = ctx.tokens.mint_access(Grant(subject, subject, client.client_id, scope, server.resource, family))
    return _response(ctx, token, scope)


async def _device_code(ctx: Context, client: Client, form: FormData) -> dict[str, Any]:
    code = single(form, "device_code")
    if not code:
        raise OAuthError("invalid_request", "device_code is required")
    row = ctx.store.one("SELECT * FROM devices WHERE device_hash = ?", digest(code))
    if row is None:
        raise OAuthError("invalid_grant", "unknown device_code")
    data = loads(row["data"])
    if data["client_id"] != client.client_id:
        raise OAuthError("invalid_grant", "device_code was issued to another client")
    now = ctx.clock()
    if row["expires"] <= now:
        raise OAuthError("expired_token", "the device code expired; start again")
    if row["status"] == "denied":
        raise OAuthError("access_denied", "the user denied the request")
    if row["status"] == "pending":
        if row["last_poll"] is not None and now - row["last_poll"] < row["interval"]:
            ctx.store.run(
                "UPDATE devices SET interval = interval + ?, last_poll = ? WHERE device_hash = ?",
                SLOW_DOWN_STEP,
                now,
                row["device_hash"],
            )
            raise OAuthError("slow_down", f"poll at most every {row['interval'] + SLOW_DOWN_STEP} seconds")
        ctx.store.run("UPDATE devices SET last_poll = ? WHERE device_hash = ?", now, row["device_hash"])
        raise OAuthError("authorization_pending", "waiting for the user")
    claimed = "UPDATE devices SET status = 'done' WHERE device_hash = ? AND status = 'approved'"
    if ctx.store.run(claimed, row["device_hash"]) != 1:
        raise OAuthError("invalid_grant", "device_code already used")
    family = ctx.tokens.new_family()
    grant = user_grant(row["user"], client.client_id, data["scope"], data["resource"], family)
    return _issue(ctx, client, grant)


def _issue(ctx: Context, client: Client, grant: Grant) -> dict[str, Any]:
    body = _response(ctx, ctx.tokens.mint_access(grant), grant.scope)
    if "refresh_token" in client.grant_types:
        body["refresh_token"] = ctx.tokens.mint_refresh(grant)
    return body


def _response(ctx: Context, access: str, scope: str) -> dict[str, Any]:
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ctx.tokens.access_ttl,
        "scope": scope,
    }


def _same_resource(ctx: Context, form: FormData, granted: str) -> None:
    """Checklist A5: the token-time resource must be within the authorize-time one."""
    values = form.getlist("resource")
    if values and ctx.check_resource(values).resource != granted:
        raise OAuthError("invalid_target", "resource differs from the one authorized")


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


HANDLERS = {
    "authorization_code": _authorization_code,
    "refresh_token": _refresh_token,
    "client_credentials": _client_credentials,
    DEVICE_GRANT: _device_code,
}
