"""RFC 8628 device authorization: POST /oauth/device/code, and the /device pages where the user
enters the code, signs in and confirms (client, resource and scopes shown: checklist A15)."""

from __future__ import annotations

import secrets
import sqlite3
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fleet_frontdoor.authserver import pages, sessions
from fleet_frontdoor.authserver.clients import DEVICE_GRANT, resolve_client
from fleet_frontdoor.authserver.context import (
    NO_STORE,
    Context,
    OAuthError,
    digest,
    grantable,
    new_secret,
    requested_scopes,
    single,
    url_encoded_form,
)
from fleet_frontdoor.authserver.store import dumps, loads

EXPIRES_IN = 1800
INTERVAL = 5
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 §6.1: no vowels, no look-alikes
MAX_FAILURES = 10  # wrong user codes per peer address …
FAILURE_WINDOW = 300  # … within this many seconds; then 429 until the oldest ages out


async def device_code(ctx: Context, request: Request) -> Response:
    try:
        form = await url_encoded_form(request)
        client_id = single(form, "client_id")
        if not client_id:
            raise OAuthError("invalid_client", "client_id is required", 401)
        try:
            client = await resolve_client(ctx, client_id)
        except OAuthError as exc:
            raise OAuthError("invalid_client", exc.description, 401) from None
        if not client.public or DEVICE_GRANT not in client.grant_types:
            raise OAuthError("unauthorized_client", "this client may not use the device flow")
        server = ctx.check_resource(form.getlist("resource"))
        scopes = requested_scopes(single(form, "scope"), server)
    except OAuthError as exc:
        return exc.response()
    code = new_secret()
    user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
    data: dict[str, Any] = {
        "client_id": client.client_id,
        "client_name": client.name,
        "resource": server.resource,
        "scopes": list(scopes),
    }
    ctx.store.run(
        "INSERT INTO devices (device_hash, user_code, data, expires, interval) VALUES (?, ?, ?, ?, ?)",
        digest(code),
        user_code,
        dumps(data),
        ctx.clock() + EXPIRES_IN,
        INTERVAL,
    )
    shown = f"{user_code[:4]}-{user_code[4:]}"
    body = {
        "device_code": code,
        "user_code": shown,
        "verification_uri": f"{ctx.issuer}/device",
        "verification_uri_complete": f"{ctx.issuer}/device?user_code={quote(shown)}",
        "expires_in": EXPIRES_IN,
        "interval": INTERVAL,
    }
    return JSONResponse(body, headers=NO_STORE)


async def device_page(ctx: Context, request: Request) -> Response:
    browser = sessions.ensure(ctx, request)
    users = None if browser.user else ctx.manifest.dev.users
    code = request.query_params.get("user_code", "")[:16]
    return sessions.set_cookie(
        ctx, pages.device_entry_page(csrf=browser.csrf, user_code=code, users=users), browser
    )


async def device_submit(ctx: Context, request: Request) -> Response:
    """Code entered (and the user signed in if needed): show what is being approved."""
    form = await request.form()
    try:
        browser = sessions.check_post(ctx, request, form)
    except sessions.CsrfError:
        return pages.message_page(
            "Refused", "This form has expired or was not issued to you.", 403, hint=pages.START_AGAIN_DEVICE
        )
    user_code = _normalise(form.get("user_code"))
    peer = request.client.host if request.client else ""
    if _locked_out(ctx, peer):
        response = pages.message_page(
            "Too many attempts",
            f"Too many wrong codes from your address: wait {FAILURE_WINDOW // 60} minutes and try again.",
            429,
        )
        response.headers["Retry-After"] = str(FAILURE_WINDOW)
        return response
    if browser.user is None:
        user = sessions.authenticate(ctx, form)
        if user is None:
            return pages.device_entry_page(
                csrf=browser.csrf,
                user_code=user_code,
                users=ctx.manifest.dev.users,
                error="Unknown user or wrong password.",
                selected=str(form.get("user") or ""),
            )
        browser = sessions.sign_in(ctx, browser, user.name)
    row = _pending_device(ctx, user_code)
    if row is None:
        ctx.device_failures.setdefault(peer, []).append(ctx.clock())
        response = pages.device_entry_page(
            csrf=browser.csrf, user_code="", users=None, error="Unknown or expired code."
        )
        return sessions.set_cookie(ctx, response, browser)
    data = loads(row["data"])
    user = ctx.manifest.user(browser.user or "")
    granted = tuple(grantable(data["scopes"], user.scopes if user else ()).split())
    view = pages.RequestView(
        client_id=data["client_id"],
        client_name=data["client_name"],
        is_cimd=False,
        redirect_uri=None,
        resource=data["resource"],
        scopes=granted,
        withheld=tuple(s for s in data["scopes"] if s not in granted),
    )
    response = pages.consent_page(
        action="/device/confirm",
        csrf=browser.csrf,
        user=browser.user or "",
        view=view,
        fields={"user_code": user_code},
    )
    return sessions.set_cookie(ctx, response, browser)


async def device_confirm(ctx: Context, request: Request) -> Response:
    form = await request.form()
    try:
        browser = sessions.check_post(ctx, request, form)
    except sessions.CsrfError:
        return pages.message_page(
            "Refused", "This form has expired or was not issued to you.", 403, hint=pages.START_AGAIN_DEVICE
        )
    peer = request.client.host if request.client else ""
    if _locked_out(ctx, peer):
        return pages.message_page("Too many attempts", "Too many wrong codes from your address.", 429)
    row = _pending_device(ctx, _normalise(form.get("user_code")))
    if row is None or browser.user is None:
        ctx.device_failures.setdefault(peer, []).append(ctx.clock())
        return pages.message_page("Refused", "Unknown or expired code.", 400, hint=pages.START_AGAIN_DEVICE)
    data = loads(row["data"])
    user = ctx.manifest.user(browser.user)
    scope = grantable(data["scopes"], user.scopes if user else ())
    approved = form.get("decision") == "approve" and bool(scope)
    data["scope"] = scope
    ctx.store.run(
        "UPDATE devices SET status = ?, user = ?, data = ? WHERE device_hash = ? AND status = 'pending'",
        "approved" if approved else "denied",
        browser.user,
        dumps(data),
        row["device_hash"],
    )
    if approved:
        return pages.message_page("Device connected", "You can close this page and return to your device.")
    return pages.message_page("Request denied", "The device was not given access.")


def _locked_out(ctx: Context, peer: str) -> bool:
    """RFC 8628 §5.1: a user code has 20^8 values, but guessing must still be slowed down. Counted per
    peer address, not per browser: a guesser simply drops its cookie."""
    now = ctx.clock()
    if len(ctx.device_failures) > 10_000:  # bounded memory under a spray from many addresses
        ctx.device_failures.clear()
    recent = [t for t in ctx.device_failures.get(peer, ()) if t > now - FAILURE_WINDOW]
    if recent:
        ctx.device_failures[peer] = recent
    else:
        ctx.device_failures.pop(peer, None)
    return len(recent) >= MAX_FAILURES


def _pending_device(ctx: Context, user_code: str) -> sqlite3.Row | None:
    return ctx.store.one(
        "SELECT * FROM devices WHERE user_code = ? AND status = 'pending' AND expires > ?",
        user_code,
        ctx.clock(),
    )


def _normalise(value: object) -> str:
    text = value if isinstance(value, str) else ""
    return "".join(ch for ch in text.upper() if ch.isalnum())[:8]
