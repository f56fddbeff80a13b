"""The few HTML pages of the dev authorization server: login, consent, device code entry/confirm.

Every value is escaped; every form carries the browser's CSRF token; no page may be framed
(clickjacking a consent button: `X-Frame-Options: DENY` and CSP `frame-ancestors 'none'`).
Form field names are stable so headless test drivers can fill them in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse

from fleet_core import is_loopback
from fleet_frontdoor.manifest import DevUser

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
    "base-uri 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}"
    "dt{font-weight:600;margin-top:.6rem}dd{margin:0}.warn{background:#fff3cd;padding:.5rem}"
    "button{margin:.3rem .3rem 0 0;padding:.4rem 1rem}.err{color:#a00}"
)


@dataclass(frozen=True)
class RequestView:
    """What the user must see before approving (checklist A13)."""

    client_id: str
    client_name: str
    is_cimd: bool
    redirect_uri: str | None
    resource: str
    scopes: tuple[str, ...]

    @property
    def client_host(self) -> str:
        return (urlsplit(self.client_id).hostname or "") if self.is_cimd else ""

    @property
    def redirect_host(self) -> str:
        return (urlsplit(self.redirect_uri).hostname or "") if self.redirect_uri else ""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status, headers=SECURITY_HEADERS)


def message_page(title: str, text: str, status: int = 200) -> HTMLResponse:
    return page(title, f"<p>{escape(text)}</p>", status)


def _hidden(**fields: str) -> str:
    return "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items())


def _user_picker(users: Iterable[DevUser]) -> str:
    rows = []
    for u in users:
        teams = ", ".join(u.teams) or "no team"
        rows.append(
            f'<p><label><input type="radio" name="user" value="{escape(u.name)}" required> '
            f"<b>{escape(u.name)}</b> ({escape(teams)})</label></p>"
        )
    rows.append(
        '<p><label>Password (only if the user has one) <input type="password" name="password"></label></p>'
    )
    return "".join(rows)


def _describe(view: RequestView) -> str:
    if view.is_cimd:
        client = f"<dd>{escape(view.client_host)} <small>(client_id {escape(view.client_id)})</small></dd>"
    else:
        client = f"<dd>pre-registered client <code>{escape(view.client_id)}</code></dd>"
    name = (
        f"<dd><small>calls itself “{escape(view.client_name)}” (self-asserted)</small></dd>"
        if view.client_name
        else ""
    )
    parts = [f"<dl><dt>Application</dt>{client}{name}"]
    if view.redirect_uri is not None:
        parts.append(f"<dt>Sends you back to</dt><dd>{escape(view.redirect_host)}</dd>")
    parts.append(f"<dt>Server (resource)</dt><dd>{escape(view.resource)}</dd>")
    scopes = "".join(f"<li><code>{escape(s)}</code></li>" for s in view.scopes) or "<li>(none)</li>"
    parts.append(f"<dt>Permissions</dt><dd><ul>{scopes}</ul></dd></dl>")
    if view.redirect_uri is not None and is_loopback(view.redirect_host):
        # MCP 2025-11-25 "Localhost Redirect URI Risks": any local program can listen there
        parts.append(
            '<p class="warn">The code goes to a program on <b>this computer</b> (localhost). '
            "Approve only if you just started this application yourself.</p>"
        )
    return "".join(parts)


def login_page(
    *,
    action: str,
    csrf: str,
    users: Iterable[DevUser],
    view: RequestView | None,
    fields: dict[str, str],
    error: str = "",
) -> HTMLResponse:
    err = f'<p class="err">{escape(error)}</p>' if error else ""
    intro = _describe(view) if view else ""
    body = (
        f"{err}{intro}<p>Dev sign-in: pick a user from <code>fleet.toml</code>.</p>"
        f'<form method="post" action="{escape(action)}">{_hidden(csrf=csrf, **fields)}'
        f'{_user_picker(users)}<button type="submit">Sign in</button></form>'
    )
    return page("Sign in to the fleet", body, 401 if error else 200)


def consent_page(
    *, action: str, csrf: str, user: str, view: RequestView, fields: dict[str, str]
) -> HTMLResponse:
    body = (
        f"<p>Signed in as <b>{escape(user)}</b>.</p>{_describe(view)}"
        f'<form method="post" action="{escape(action)}">{_hidden(csrf=csrf, **fields)}'
        '<button type="submit" name="decision" value="approve">Approve</button>'
        '<button type="submit" name="decision" value="deny">Deny</button></form>'
    )
    return page("Allow access?", body)


def device_entry_page(
    *, csrf: str, user_code: str, users: Iterable[DevUser] | None, error: str = ""
) -> HTMLResponse:
    err = f'<p class="err">{escape(error)}</p>' if error else ""
    picker = _user_picker(users) if users is not None else ""
    body = (
        f'{err}<form method="post" action="/device">{_hidden(csrf=csrf)}'
        f'<p><label>Code shown by your device <input name="user_code" value="{escape(user_code)}" '
        f'autocomplete="off" required></label></p>{picker}<button type="submit">Continue</button></form>'
    )
    return page("Connect a device", body, 400 if error else 200)
