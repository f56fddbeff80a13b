"""Metadata and token-management endpoints: RFC 8414 / OIDC discovery, JWKS, RFC 7009 revocation,
RFC 7662 introspection, OIDC userinfo."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fleet_frontdoor.authserver.clients import DEVICE_GRANT, authenticate_client
from fleet_frontdoor.authserver.context import NO_STORE, Context, OAuthError, single
from fleet_frontdoor.authserver.tokens import USERNAME_CLAIM, TokenError


def metadata(ctx: Context) -> dict[str, Any]:
    iss = ctx.issuer
    scopes = sorted({s for server in ctx.manifest.enabled_servers for s in server.scopes})
    doc: dict[str, Any] = {
        "issuer": iss,  # RFC 8414 §3.3: must equal the issuer byte for byte
        "authorization_endpoint": f"{iss}/oauth/authorize",
        "token_endpoint": f"{iss}/oauth/token",
        "device_authorization_endpoint": f"{iss}/oauth/device/code",
        "revocation_endpoint": f"{iss}/oauth/revoke",
        "introspection_endpoint": f"{iss}/oauth/introspect",
        "userinfo_endpoint": f"{iss}/oauth/userinfo",
        "jwks_uri": f"{iss}/.well-known/jwks.json",
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", DEVICE_GRANT],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }
    if ctx.manifest.issuer.cimd_enabled:  # checklist A9: advertise only when enabled
        doc["client_id_metadata_document_supported"] = True
    return doc


async def discovery(ctx: Context, request: Request) -> Response:
    return JSONResponse(metadata(ctx), headers={"Cache-Control": "public, max-age=300"})


async def jwks(ctx: Context, request: Request) -> Response:
    return JSONResponse(ctx.keys.jwks(), headers={"Cache-Control": "public, max-age=300"})


async def revoke(ctx: Context, request: Request) -> Response:
    try:
        form = await request.form()
        client = await authenticate_client(ctx, request, form)
        raw = single(form, "token")
        if not raw:
            raise OAuthError("invalid_request", "token is required")
    except OAuthError as exc:
        return exc.response()
    try:
        claims = ctx.tokens.decode(raw)
    except TokenError:
        return Response(status_code=200, headers=NO_STORE)  # RFC 7009 §2.2: unknown tokens are fine
    if claims.get("client_id") == client.client_id:
        if claims["type"] == "refresh":
            family = ctx.store.one("SELECT family FROM refresh WHERE jti = ?", claims["jti"])
            if family is not None:
                ctx.tokens.revoke_family(family["family"])  # RFC 7009 §2.1: the whole grant goes
        else:
            ctx.tokens.revoke_access(claims["jti"])
    return Response(status_code=200, headers=NO_STORE)


async def introspect(ctx: Context, request: Request) -> Response:
    try:
        form = await request.form()
        client = await authenticate_client(ctx, request, form)
        if client.public:
            raise OAuthError("invalid_client", "introspection needs a confidential client", 401)
        raw = single(form, "token") or ""
    except OAuthError as exc:
        return exc.response()
    try:
        claims = ctx.tokens.decode(raw)
    except TokenError:
        return JSONResponse({"active": False}, headers=NO_STORE)
    if claims["type"] == "refresh":
        used = ctx.store.one("SELECT used FROM refresh WHERE jti = ?", claims["jti"])
        if used is None or used["used"]:
            return JSONResponse({"active": False}, headers=NO_STORE)
    keep = ("iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope", "user_id", USERNAME_CLAIM)
    body = {"active": True, "token_type": "Bearer" if claims["type"] == "access" else "refresh_token"}
    body.update({k: claims[k] for k in keep if k in claims})
    if USERNAME_CLAIM in claims:
        body["username"] = claims[USERNAME_CLAIM]
    return JSONResponse(body, headers=NO_STORE)


async def userinfo(ctx: Context, request: Request) -> Response:
    scheme, _, raw = request.headers.get("authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer" or not raw:
            raise TokenError("bearer token required")
        claims = ctx.tokens.decode(raw.strip(), "access")
    except TokenError:
        challenge = f'Bearer error="invalid_token", realm="{ctx.issuer}"'
        return JSONResponse(
            {"error": "invalid_token"}, 401, headers={"WWW-Authenticate": challenge, **NO_STORE}
        )
    username = claims.get(USERNAME_CLAIM)
    user = ctx.manifest.user(username) if isinstance(username, str) else None
    body = {
        "sub": claims["sub"],
        "user_id": claims["user_id"],
        "preferred_username": username,
        "teams": list(user.teams) if user else [],
        "scope": claims["scope"],
    }
    return JSONResponse(body, headers=NO_STORE)
