"""Browser sessions for the login/consent/device pages.

A browser gets a random id in an HttpOnly SameSite=Lax cookie (`__Host-` + Secure when the issuer
is https) and a CSRF token stored with it; every form post must carry both (login and consent CSRF).
Signing in replaces the id (session fixation), and pending authorization requests are bound to the
browser that started them, so a victim cannot be made to approve an attacker's request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from fleet_frontdoor.authserver.context import Context
from fleet_frontdoor.manifest import DevUser

SESSION_SECONDS = 8 * 3600
ANONYMOUS_SECONDS = 1800  # a browser that has not signed in: long enough to fill in a form
MAX_ANONYMOUS = 1000  # anonymous browser rows kept at most (the oldest go first)


@dataclass(frozen=True)
class Browser:
    id: str
    csrf: str
    user: str | None
    new: bool = False


class CsrfError(Exception):
    """The form post did not come from a page this server rendered for this browser."""


def cookie_name(ctx: Context) -> str:
    return "__Host-fleet_as" if ctx.secure_cookies else "fleet_as"


def current(ctx: Context, request: Request) -> Browser | None:
    bid = request.cookies.get(cookie_name(ctx))
    if not bid:
        return None
    row = ctx.store.one("SELECT id, csrf, user FROM browsers WHERE id = ? AND expires > ?", bid, ctx.clock())
    if row is None:
        return None
    user = row["user"] if row["user"] and ctx.manifest.user(row["user"]) else None
    return Browser(row["id"], row["csrf"], user)


def ensure(ctx: Context, request: Request) -> Browser:
    return current(ctx, request) or _create(ctx, None)


def sign_in(ctx: Context, old: Browser, user: str) -> Browser:
    ctx.store.run("DELETE FROM browsers WHERE id = ?", old.id)
    fresh = _create(ctx, user)
    ctx.store.run("UPDATE pending SET browser = ? WHERE browser = ?", fresh.id, old.id)
    return fresh


def check_post(ctx: Context, request: Request, form: FormData) -> Browser:
    browser = current(ctx, request)
    token = form.get("csrf")
    if browser is None or not isinstance(token, str) or not secrets.compare_digest(token, browser.csrf):
        raise CsrfError
    return browser


def authenticate(ctx: Context, form: FormData) -> DevUser | None:
    """The dev user the sign-in form names, if their password (when they have one) matches."""
    user = ctx.manifest.user(str(form.get("user") or ""))
    if user is None or user.password is None:
        return user
    given = form.get("password")
    ok = isinstance(given, str) and secrets.compare_digest(given.encode(), user.password.encode())
    return user if ok else None


def set_cookie(ctx: Context, response: Response, browser: Browser) -> Response:
    if browser.new:
        response.set_cookie(
            cookie_name(ctx),
            browser.id,
            max_age=SESSION_SECONDS,
            path="/",
            secure=ctx.secure_cookies,
            httponly=True,
            samesite="lax",
        )
    return response


def _create(ctx: Context, user: str | None) -> Browser:
    browser = Browser(secrets.token_urlsafe(24), secrets.token_urlsafe(24), user, new=True)
    now = ctx.clock()
    if user is None:
        # Anyone can make these (every anonymous page view): short-lived and bounded in number, so a
        # loop of GET /device can't fill the store (finding 12.6). Signing in makes a fresh row.
        ctx.store.run(
            "DELETE FROM browsers WHERE user IS NULL AND (expires <= ? OR id NOT IN "
            "(SELECT id FROM browsers WHERE user IS NULL ORDER BY expires DESC LIMIT ?))",
            now,
            MAX_ANONYMOUS - 1,
        )
    ctx.store.run(
        "INSERT INTO browsers (id, csrf, user, expires) VALUES (?, ?, ?, ?)",
        browser.id,
        browser.csrf,
        user,
        now + (SESSION_SECONDS if user else ANONYMOUS_SECONDS),
    )
    return browser
