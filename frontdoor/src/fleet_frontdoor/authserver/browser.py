"""A headless "user at a browser" for tests and demos: signs in as a dev user and clicks
Approve/Deny on the dev authorization server's pages, keeping cookies like a browser would.

    location = await approve_in_browser(authorize_url, user="alice")  # redirect_uri?code=..&state=..&iss=..
    await approve_device(verification_uri_complete, user="bob", decision="deny")

Use it as the MCP SDK's `redirect_handler` (parse `code`, `state`, `iss` from the returned URL).
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urljoin

import httpx2

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_ACTION = re.compile(r'<form method="post" action="([^"]+)">')


class BrowserError(RuntimeError):
    """The page flow did not go as expected (the message holds the status and page text)."""


def form_fields(html: str) -> tuple[str, dict[str, str]]:
    """The first form's action and hidden fields of a page this server rendered."""
    action = _ACTION.search(html)
    if action is None:
        raise BrowserError(f"no form on page: {_text(html)}")
    return unescape(action.group(1)), {unescape(k): unescape(v) for k, v in _HIDDEN.findall(html)}


async def approve_in_browser(
    authorize_url: str,
    *,
    user: str = "alice",
    password: str | None = None,
    decision: str = "approve",
    http: httpx2.AsyncClient | None = None,
) -> str:
    """Walk authorize → login → consent. Returns the Location the AS redirected to."""
    async with _browser(http) as client:
        page = await client.get(authorize_url)
        if page.status_code in (302, 303):
            return page.headers["location"]
        _expect(page)
        action, fields = form_fields(page.text)
        if action.endswith("/oauth/login"):
            page = await client.post(
                urljoin(authorize_url, action), data={**fields, "user": user, **_pw(password)}
            )
            _expect(page)
            action, fields = form_fields(page.text)
        done = await client.post(urljoin(authorize_url, action), data={**fields, "decision": decision})
        if done.status_code not in (302, 303):
            raise BrowserError(f"consent answered {done.status_code}: {_text(done.text)}")
        return done.headers["location"]


async def approve_device(
    verification_uri_complete: str,
    *,
    user: str = "alice",
    password: str | None = None,
    decision: str = "approve",
    http: httpx2.AsyncClient | None = None,
) -> str:
    """Open the device page, sign in, confirm. Returns the final page's text."""
    async with _browser(http) as client:
        page = await client.get(verification_uri_complete)
        _expect(page)
        code = re.search(r'name="user_code" value="([^"]*)"', page.text)
        action, fields = form_fields(page.text)
        data = {**fields, "user_code": unescape(code.group(1)) if code else "", "user": user, **_pw(password)}
        page = await client.post(urljoin(verification_uri_complete, action), data=data)
        _expect(page)
        action, fields = form_fields(page.text)
        page = await client.post(
            urljoin(verification_uri_complete, action), data={**fields, "decision": decision}
        )
        _expect(page)
        return _text(page.text)


class _browser:
    def __init__(self, http: httpx2.AsyncClient | None) -> None:
        self._given = http
        self._own: httpx2.AsyncClient | None = None

    async def __aenter__(self) -> httpx2.AsyncClient:
        if self._given is not None:
            return self._given
        self._own = httpx2.AsyncClient(follow_redirects=False, timeout=10)
        return self._own

    async def __aexit__(self, *exc: object) -> None:
        if self._own is not None:
            await self._own.aclose()


def _pw(password: str | None) -> dict[str, str]:
    return {"password": password} if password is not None else {}


def _expect(page: httpx2.Response) -> None:
    if page.status_code != 200:
        raise BrowserError(f"page answered {page.status_code}: {_text(page.text)}")


def _text(html: str) -> str:
    text = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", text)).split())[:300]
