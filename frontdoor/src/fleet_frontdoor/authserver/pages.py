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

# Checked in a real browser at phone and laptop widths (frontdoor/tests/test_as_pages_browser.py):
# no sideways scrolling (long URLs wrap), 44px tap targets, WCAG AA contrast, a visible focus ring.
STYLE = (
    "*{box-sizing:border-box}"
    "body{font:1rem/1.5 system-ui,sans-serif;max-width:34rem;margin:1.5rem auto;padding:0 1rem;"
    "color:#222;background:#fff}"
    "h1{font-size:1.5rem;line-height:1.25}"
    "dt{font-weight:600;margin-top:.6rem}dd{margin:0}dd,code,small{overflow-wrap:anywhere}"
    "ul{margin:.2rem 0;padding-left:1.25rem}"
    ".warn{background:#fff3cd;padding:.5rem .75rem;border-left:4px solid #8a6d00}"
    ".err{color:#a00;font-weight:600}.hint{color:#444}"
    "fieldset{border:0;margin:1rem 0;padding:0}legend{font-weight:600;padding:0}"
    ".user{display:flex;align-items:center;gap:.6rem;min-height:2.75rem}"
    "input[type=radio]{width:1.25rem;height:1.25rem;margin:0;flex:none}"
    ".field{display:block;margin:.75rem 0}"
    ".field input{display:block;width:100%;margin-top:.25rem;padding:.5rem;font:inherit;"
    "border:1px solid #767676;border-radius:4px}"
    ".actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.25rem}"
    "button{font:inherit;min-height:2.75rem;padding:.5rem 1.25rem;border:1px solid #767676;"
    "border-radius:4px;background:#f2f2f2;color:#222;cursor:pointer}"
    "button.primary{background:#0b57d0;border-color:#0b57d0;color:#fff}"
    ":focus-visible{outline:3px solid #0b57d0;outline-offset:2px}"
)

# What to do after a refusal: these pages never redirect (the redirect URI may not be verified).
START_AGAIN = "Start again from the application you were signing in to."
START_AGAIN_DEVICE = "Start again from the code your device shows."


@dataclass(frozen=True)
class RequestView:
    """What the user must see before approving (checklist A13). `scopes` are the ones the token
    would carry; `withheld` the requested ones the signed-in user does not hold (never silently
    dropped: the consent page lists them and says why)."""

    client_id: str
    client_name: str
    is_cimd: bool
    redirect_uri: str | None
    resource: str
    scopes: tuple[str, ...]
    withheld: tuple[str, ...] = ()

    @property
    def client_host(self) -> str:
        return (urlsplit(self.client_id).hostname or "") if self.is_cimd else ""

    @property
    def redirect_host(self) -> str:
        return (urlsplit(self.redirect_uri).hostname or "") if self.redirect_uri else ""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        # without it a phone lays the page out 980px wide and shrinks it to unreadable
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(html, status, headers=SECURITY_HEADERS)


def message_page(
    title: str, text: str, status: int = 200, *, detail: str = "", hint: str = ""
) -> HTMLResponse:
    """A page with nothing to fill in: what happened, the technical reason, and what to do next."""
    body = f"<p>{escape(text)}</p>"
    if detail:
        body += f"<p><code>{escape(detail)}</code></p>"
    if hint:
        body += f'<p class="hint">{escape(hint)}</p>'
    return page(title, body, status)


def _hidden(**fields: str) -> str:
    return "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items())


def _error(error: str) -> str:
    return f'<p class="err" id="error" role="alert">{escape(error)}</p>' if error else ""


def _user_picker(
    users: Iterable[DevUser], *, selected: str | None = None, focus: bool = False, error: bool = False
) -> str:
    """Radio buttons, one per dev user, and the password field. With `focus`, the keyboard starts on
    the chosen user (or the first), or in the password field when the chosen user needs one."""
    users = list(users)
    chosen = next((u for u in users if u.name == selected), None)
    described = ' aria-describedby="error"' if error else ""
    rows = [f"<fieldset{described}><legend>Sign in as</legend>"]
    for i, u in enumerate(users):
        teams = ", ".join(u.teams) or "no team"
        needs = " · password" if u.password is not None else ""
        checked = " checked" if u is chosen else ""
        autofocus = (
            " autofocus"
            if focus and ((chosen is None and i == 0) or (u is chosen and chosen.password is None))
            else ""
        )
        rows.append(
            f'<label class="user"><input type="radio" name="user" value="{escape(u.name)}" required'
            f"{checked}{autofocus}><span><b>{escape(u.name)}</b> ({escape(teams)}){needs}</span></label>"
        )
    pw_focus = " autofocus" if focus and chosen is not None and chosen.password is not None else ""
    rows.append(
        '<label class="field">Password (only if the user has one) '
        f'<input type="password" name="password" autocomplete="current-password"{pw_focus}></label>'
        "</fieldset>"
    )
    return "".join(rows)


def _describe(view: RequestView, *, user: str | None = None, warn: bool = True) -> str:
    """The request, as the user must see it before approving. With `user` (the consent page) the
    permissions are the ones that would be granted, and the withheld ones are listed with why."""
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
    label = "Permissions it gets" if user is not None else "Permissions requested"
    parts.append(f'<dt>{label}</dt><dd><ul id="granted">{scopes}</ul></dd>')
    if user is not None and view.withheld:
        # RFC 6749 §3.3 lets the server grant less than asked; the user is told, not left to guess
        withheld = "".join(
            f"<li><code>{escape(s)}</code>: {escape(user)} does not hold {escape(s)} "
            "(the dev user's scopes in <code>fleet.toml</code>)</li>"
            for s in view.withheld
        )
        parts.append(f'<dt>Not granted</dt><dd id="not-granted"><ul>{withheld}</ul></dd>')
    parts.append("</dl>")
    if warn and view.redirect_uri is not None and is_loopback(view.redirect_host):
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
    selected: str | None = None,
) -> HTMLResponse:
    intro = _describe(view) if view else ""
    body = (
        f"{_error(error)}{intro}<p>Dev sign-in: pick a user from <code>fleet.toml</code>.</p>"
        f'<form method="post" action="{escape(action)}">{_hidden(csrf=csrf, **fields)}'
        f"{_user_picker(users, selected=selected, focus=True, error=bool(error))}"
        '<div class="actions"><button type="submit" class="primary">Sign in</button></div></form>'
    )
    return page("Sign in to the fleet", body, 401 if error else 200)


def consent_page(
    *, action: str, csrf: str, user: str, view: RequestView, fields: dict[str, str]
) -> HTMLResponse:
    # Nothing starts focused here: a stray Enter must not approve.
    if view.scopes:
        title = "Allow access?"
        buttons = (
            '<button type="submit" name="decision" value="approve" class="primary">Approve</button>'
            '<button type="submit" name="decision" value="deny">Deny</button>'
        )
        nothing = ""
    else:
        title = "Nothing to approve"
        back = "Back to the application" if view.redirect_uri is not None else "Cancel"
        buttons = f'<button type="submit" name="decision" value="deny" class="primary">{back}</button>'
        nothing = (
            f'<p class="warn">None of the requested permissions can be granted to {escape(user)}, '
            "so there is nothing to approve.</p>"
        )
    described = _describe(view, user=user, warn=bool(view.scopes))
    body = (
        f"<p>Signed in as <b>{escape(user)}</b>.</p>{nothing}{described}"
        f'<form method="post" action="{escape(action)}">{_hidden(csrf=csrf, **fields)}'
        f'<div class="actions">{buttons}</div></form>'
    )
    return page(title, body)


def device_entry_page(
    *,
    csrf: str,
    user_code: str,
    users: Iterable[DevUser] | None,
    error: str = "",
    selected: str | None = None,
) -> HTMLResponse:
    # The keyboard starts in the first empty field: the code, or (code from the link) the user.
    code_attrs = ' id="user_code" autocomplete="off" autocapitalize="characters" spellcheck="false" required'
    if not user_code:
        code_attrs += " autofocus"
        if error:
            code_attrs += ' aria-invalid="true" aria-describedby="error"'
    picker = (
        _user_picker(users, selected=selected, focus=bool(user_code), error=bool(error and user_code))
        if users is not None
        else ""
    )
    body = (
        f'{_error(error)}<form method="post" action="/device">{_hidden(csrf=csrf)}'
        f'<label class="field">Code shown by your device <input name="user_code" value="{escape(user_code)}"'
        f"{code_attrs}></label>{picker}"
        '<div class="actions"><button type="submit" class="primary">Continue</button></div></form>'
    )
    return page("Connect a device", body, 400 if error else 200)
