"""GET /oauth/authorize → login page → consent page → redirect with `code`, `state` and `iss`.

Until the client and its redirect URI are verified, errors are shown here and never redirected
(RFC 6749 §4.1.2.1, MCP "Open Redirection"). After that every answer, success or error, goes to
the redirect URI with `iss` (RFC 9207 §2, mix-up defence) and the client's `state`.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fleet_frontdoor.authserver import pages, sessions
from fleet_frontdoor.authserver.clients import resolve_client
from fleet_frontdoor.authserver.context import (
    Context,
    OAuthError,
    digest,
    grantable,
    requested_scopes,
    single,
)
from fleet_frontdoor.authserver.store import dumps, loads

PENDING_SECONDS = 600  # the login + consent round trip
CODE_SECONDS = 60
PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url(SHA-256), RFC 7636 §4.2


def redirect_to(redirect_uri: str, params: dict[str, str | None]) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    sep = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(redirect_uri + sep + query, 303, headers={"Cache-Control": "no-store"})


async def authorize(ctx: Context, request: Request) -> Response:
    q = request.query_params
    try:
        client_id = single(q, "client_id")
        redirect_uri = single(q, "redirect_uri")
        if not client_id or not redirect_uri:
            raise OAuthError("invalid_request", "client_id and redirect_uri are required")
        client = await resolve_client(ctx, client_id)
        if not client.redirect_allowed(redirect_uri):
            raise OAuthError("invalid_request", "redirect_uri is not registered for this client")
    except OAuthError as exc:
        return pages.message_page(
            "Authorization failed",
            "This sign-in request can't be accepted, so you are not sent back to the application.",
            400,
            detail=f"{exc.error}: {exc.description}",
            hint="Go back to the application and start again. If this keeps happening, "
            "tell its developer the message above.",
        )

    state = q.get("state")
    try:
        state = single(q, "state")
        if single(q, "response_type") != "code":
            raise OAuthError("unsupported_response_type", "only response_type=code is supported")
        if "authorization_code" not in client.grant_types:
            raise OAuthError("unauthorized_client", "this client may not use the authorization code grant")
        challenge = single(q, "code_challenge")
        if single(q, "code_challenge_method") != "S256":
            # OAuth 2.1 §4.1.1 / MCP "Authorization Code Protection": S256 only; `plain` is refused
            raise OAuthError("invalid_request", "PKCE with code_challenge_method=S256 is required")
        if not challenge or not PKCE_CHALLENGE.fullmatch(challenge):
            raise OAuthError("invalid_request", "code_challenge must be a base64url SHA-256 value")
        server = ctx.check_resource(q.getlist("resource"))
        scopes = requested_scopes(single(q, "scope"), server)
    except OAuthError as exc:
        return redirect_to(
            redirect_uri,
            {"error": exc.error, "error_description": exc.description, "state": state, "iss": ctx.issuer},
        )

    browser = sessions.ensure(ctx, request)
    ctx.store.run("DELETE FROM pending WHERE expires < ?", ctx.clock())  # anyone can add rows: prune
    pending_id = secrets.token_urlsafe(24)
    data = {
        "client_id": client.client_id,
        "client_name": client.name,
        "is_cimd": client.is_cimd,
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": challenge,
        "resource": server.resource,
        "scopes": list(scopes),
    }
    ctx.store.run(
        "INSERT INTO pending (id, browser, data, expires) VALUES (?, ?, ?, ?)",
        pending_id,
        browser.id,
        dumps(data),
        ctx.clock() + PENDING_SECONDS,
    )
    return sessions.set_cookie(ctx, _next_page(ctx, browser, pending_id, data), browser)


async def login(ctx: Context, request: Request) -> Response:
    form = await request.form()
    try:
        browser = sessions.check_post(ctx, request, form)
    except sessions.CsrfError:
        return pages.message_page(
            "Sign-in refused",
            "This form has expired or was not issued to you.",
            403,
            hint=pages.START_AGAIN,
        )
    pending_id, data = _pending(ctx, browser, form.get("pending"))
    if data is None:
        return pages.message_page(
            "Sign-in refused",
            "This authorization request has expired. Start again.",
            400,
            hint=pages.START_AGAIN,
        )
    user = sessions.authenticate(ctx, form)
    if user is None:
        return pages.login_page(
            action="/oauth/login",
            csrf=browser.csrf,
            users=ctx.manifest.dev.users,
            view=_view(data),
            fields={"pending": pending_id},
            error="Unknown user or wrong password.",
            selected=str(form.get("user") or ""),
        )
    browser = sessions.sign_in(ctx, browser, user.name)
    return sessions.set_cookie(ctx, _next_page(ctx, browser, pending_id, data), browser)


async def consent(ctx: Context, request: Request) -> Response:
    form = await request.form()
    try:
        browser = sessions.check_post(ctx, request, form)
    except sessions.CsrfError:
        return pages.message_page(
            "Consent refused",
            "This form has expired or was not issued to you.",
            403,
            hint=pages.START_AGAIN,
        )
    pending_id, data = _pending(ctx, browser, form.get("pending"))
    if data is None or browser.user is None:
        return pages.message_page(
            "Consent refused",
            "This authorization request has expired. Start again.",
            400,
            hint=pages.START_AGAIN,
        )
    ctx.store.run("DELETE FROM pending WHERE id = ?", pending_id)  # single use
    back = {"state": data["state"], "iss": ctx.issuer}
    user = ctx.manifest.user(browser.user)
    scope = grantable(data["scopes"], user.scopes if user else ())
    if form.get("decision") != "approve":
        return redirect_to(data["redirect_uri"], {"error": "access_denied", **back})
    if not scope:
        description = f"{browser.user} holds none of the requested scopes"
        return redirect_to(
            data["redirect_uri"], {"error": "access_denied", "error_description": description, **back}
        )
    code = secrets.token_urlsafe(32)
    family = ctx.tokens.new_family()
    grant = {**data, "scope": scope, "user": browser.user}
    ctx.store.run(
        "INSERT INTO codes (code_hash, data, expires, family) VALUES (?, ?, ?, ?)",
        digest(code),
        dumps(grant),
        ctx.clock() + CODE_SECONDS,
        family,
    )
    return redirect_to(data["redirect_uri"], {"code": code, **back})


def _next_page(ctx: Context, browser: sessions.Browser, pending_id: str, data: dict[str, Any]) -> Response:
    fields = {"pending": pending_id}
    if browser.user is None:
        return pages.login_page(
            action="/oauth/login",
            csrf=browser.csrf,
            users=ctx.manifest.dev.users,
            view=_view(data),
            fields=fields,
        )
    user = ctx.manifest.user(browser.user)
    view = _view(data, granted=grantable(data["scopes"], user.scopes if user else ()).split())
    return pages.consent_page(
        action="/oauth/consent", csrf=browser.csrf, user=browser.user, view=view, fields=fields
    )


def _pending(
    ctx: Context, browser: sessions.Browser, pending_id: object
) -> tuple[str, dict[str, Any] | None]:
    if not isinstance(pending_id, str):
        return "", None
    row = ctx.store.one(
        "SELECT data FROM pending WHERE id = ? AND browser = ? AND expires > ?",
        pending_id,
        browser.id,
        ctx.clock(),
    )
    return pending_id, (loads(row["data"]) if row else None)


def _view(data: dict[str, Any], granted: list[str] | None = None) -> pages.RequestView:
    """The request as shown: all requested scopes (login page), or those `granted` to the signed-in
    user plus the withheld rest (consent page)."""
    asked = tuple(data["scopes"])
    return pages.RequestView(
        client_id=data["client_id"],
        client_name=data["client_name"],
        is_cimd=data["is_cimd"],
        redirect_uri=data["redirect_uri"],
        resource=data["resource"],
        scopes=tuple(granted) if granted is not None else asked,
        withheld=tuple(s for s in asked if s not in granted) if granted is not None else (),
    )
