"""Thin typed async client for the MediaWiki Action API (api.php) and REST API (rest.php).

One bot session (BotPassword) shared by every tool call: login on first use, CSRF tokens for
writes, one re-login when the wiki says the session is gone, `maxlag` + Retry-After respected.
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Mapping
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import quote

import anyio
import httpx2

from fleet_core import BackendError, OutageTransport, RetryPolicy, ToolError

__all__ = ["MediaWikiClient", "WikiApiError"]

log = logging.getLogger("fleet_wiki")

# Codes meaning "your session is gone": log in again once and retry (PWiki MediaWiki-MCP-Server#357).
_SESSION_LOST = frozenset({"assertuserfailed", "assertbotfailed", "badtoken", "notloggedin"})
_MAX_WAIT_SECONDS = 10.0
_ANON_TOKEN = "+\\"  # noqa: S105 - the CSRF token MediaWiki hands to logged-out sessions

Params = Mapping[str, str | int | float | bool | None]


class WikiApiError(ToolError):
    """The wiki refused the request (bad title, protected page, conflict...): `code` is MediaWiki's."""

    def __init__(self, code: str, info: str) -> None:
        super().__init__(f"wiki refused the request ({code}): {info}")
        self.code = code
        self.info = info


def _encode(params: Params) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None or value is False:
            continue  # MediaWiki booleans are "present = true"
        out[key] = "1" if value is True else str(value)
    return out


class MediaWikiClient:
    """`url` is where api.php and rest.php live (MediaWiki's $wgServer + $wgScriptPath)."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        timeout: float = 10.0,
        maxlag: int = 5,
        max_retries: int = 2,
        user_agent: str = "fleet-wiki/0.1 (mcp-fleet)",
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.api_url = f"{self.url}/api.php"
        self.rest_url = f"{self.url}/rest.php"
        self._username = username
        self._password = password
        self._maxlag = maxlag
        self._retry = RetryPolicy(retries=max_retries, max_retry_after_seconds=_MAX_WAIT_SECONDS)
        options: dict[str, Any] = {
            "timeout": httpx2.Timeout(timeout),
            "headers": {"User-Agent": user_agent},
            # an outage is answered at once (12.9); both clients share what they learn about it
            "transport": OutageTransport("the wiki", transport),
            "follow_redirects": False,
        }
        # Calls carry the session cookies of the last login and never take cookies from an answer: a
        # slow answer on the old session (MediaWiki resets the cookie of a lost session) could
        # otherwise land after a concurrent login and log every later call out.
        self._http = httpx2.AsyncClient(**options, cookies=CookieJar(policy=_LoginCookiesOnly()))
        # Logins use a cookie jar of their own: responses to calls still in flight on the old session
        # must not swap the session cookie between the login token and the login itself.
        self._login_http = httpx2.AsyncClient(**options)
        self._login_lock = anyio.Lock()
        self._logged_in = False
        self._csrf: str | None = None
        self.logins = 0  # how many times we logged in (observable for tests and metrics)

    async def aclose(self) -> None:
        await self._login_http.aclose()
        await self._http.aclose()

    async def __aenter__(self) -> MediaWikiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- transport --------------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        url: str,
        *,
        params: Params | None = None,
        data: Params | None = None,
        http: httpx2.AsyncClient | None = None,
    ) -> dict[str, Any]:
        """One HTTP exchange with maxlag/Retry-After handling; returns the decoded JSON object."""
        retries = self._retry.start()
        while True:
            try:
                response = await (http or self._http).request(
                    method,
                    url,
                    params=_encode(params) if params else None,
                    data=_encode(data) if data else None,
                )
            except httpx2.TimeoutException as exc:
                raise BackendError(
                    f"the wiki at {self.url} did not answer in time ({type(exc).__name__})"
                ) from exc
            except httpx2.TransportError as exc:
                raise BackendError(f"the wiki at {self.url} is unreachable ({type(exc).__name__})") from exc
            lagged = response.headers.get("MediaWiki-API-Error") == "maxlag"
            # maxlag and 429 mean "not executed": safe to resend. A bare 503 may come after a write
            # went through (a proxy timing out), so only reads are resent on it.
            retryable = (
                lagged or response.status_code == 429 or (response.status_code == 503 and method == "GET")
            )
            if retryable or response.status_code == 503:
                if retryable and await retries.wait(response.headers):
                    continue
                why = "replication lag" if lagged else f"HTTP {response.status_code}"
                when = "later" if retries.retry_after is None else f"in {retries.retry_after:g}s"
                raise BackendError(f"the wiki at {self.url} is overloaded ({why}); try again {when}")
            if response.status_code >= 500:
                raise BackendError(f"the wiki at {self.url} failed (HTTP {response.status_code})")
            try:
                body = response.json()
            except ValueError as exc:
                if url.startswith(self.rest_url) and response.status_code == 404:
                    return {"httpCode": 404}
                raise BackendError(
                    f"the wiki at {self.url} answered HTTP {response.status_code} with non-JSON; "
                    "check FLEET_WIKI_URL"
                ) from exc
            if not isinstance(body, dict):  # api.php and rest.php always answer an object
                raise BackendError(
                    f"the wiki at {self.url} answered HTTP {response.status_code} with JSON that is not "
                    "an object; check FLEET_WIKI_URL"
                )
            return body

    async def _action(self, method: str, params: Params, *, write: bool) -> dict[str, Any]:
        base: dict[str, Any] = {"format": "json", "formatversion": 2, "errorformat": "plaintext"}
        if self._maxlag:
            base["maxlag"] = self._maxlag
        for attempt in range(3):
            await self._ensure_login()
            session = self.logins  # which login this attempt runs under
            query = {**base, **params, "assert": "user"}
            token = await self._csrf_token() if write else ""
            if token is None:  # fetching a token showed the session is gone
                code, info = "notloggedin", "the wiki session is not logged in"
            else:
                if write:
                    query["token"] = token
                if method == "GET":
                    body = await self._send("GET", self.api_url, params=query)
                else:  # everything in the body: long texts, and tokens stay out of URLs/logs
                    body = await self._send("POST", self.api_url, data=query)
                error = _first_error(body)
                if error is None:
                    return body
                code, info = error
            # Lost on the first try: log in again (or use the login a concurrent call just made).
            # Lost again on the newest login: the wiki did not keep that login's session (seen with
            # MediaWiki on SQLite under several PHP workers), so one more login, and then give up.
            if code in _SESSION_LOST and (attempt == 0 or (attempt == 1 and session == self.logins)):
                log.info("wiki session lost (%s); logging in again", code)
                self._session_lost(session)
                continue
            raise WikiApiError(code, info)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- session ----------------------------------------------------------------------------------

    def _session_lost(self, session: int) -> None:
        # Only if no concurrent call has logged in again since this attempt started; else that
        # fresh session would be thrown away too.
        if session == self.logins:
            self._logged_in, self._csrf = False, None

    async def _ensure_login(self) -> None:
        if self._logged_in:
            return
        async with self._login_lock:
            if self._logged_in:
                return
            http = self._login_http
            http.cookies.clear()
            common: dict[str, str | int] = {"format": "json", "formatversion": 2, "errorformat": "plaintext"}
            tokens = await self._send(
                "GET",
                self.api_url,
                params={**common, "action": "query", "meta": "tokens", "type": "login"},
                http=http,
            )
            token = tokens.get("query", {}).get("tokens", {}).get("logintoken")
            if not token:
                raise BackendError(f"the wiki at {self.url} gave no login token; is it a MediaWiki api.php?")
            result = await self._send(
                "POST",
                self.api_url,
                data={
                    **common,
                    "action": "login",
                    "lgname": self._username,
                    "lgpassword": self._password,
                    "lgtoken": token,
                },
                http=http,
            )
            login = result.get("login", {})
            if login.get("result") != "Success":
                reason = login.get("reason") or login.get("result") or _first_error(result)
                if isinstance(reason, dict):  # errorformat=plaintext: {"code": ..., "text": ...}
                    reason = reason.get("text") or reason.get("code")
                raise BackendError(
                    f"bot login to the wiki failed ({reason}); "
                    "check FLEET_WIKI_BOT_USERNAME / FLEET_WIKI_BOT_PASSWORD "
                    "(a BotPassword: 'User@appid')"
                )
            self._http.cookies.clear()
            self._http.cookies.update(http.cookies)
            self._logged_in, self._csrf = True, None
            self.logins += 1

    async def _csrf_token(self) -> str | None:
        """The session's CSRF token (cached), or None when the wiki says the session is anonymous."""
        if self._csrf is None:
            body = await self._send(
                "GET",
                self.api_url,
                params={
                    "action": "query",
                    "meta": "tokens",
                    "type": "csrf",
                    "format": "json",
                    "formatversion": 2,
                },
            )
            token = body.get("query", {}).get("tokens", {}).get("csrftoken", _ANON_TOKEN)
            if token == _ANON_TOKEN:
                return None
            self._csrf = token
        return self._csrf

    def forget_session(self) -> None:
        """Drop the local session (as if it expired); the next call logs in again."""
        self._http.cookies.clear()
        self._csrf = None

    # -- API surface ------------------------------------------------------------------------------

    async def get(self, **params: Any) -> dict[str, Any]:
        """A read (GET api.php)."""
        return await self._action("GET", params, write=False)

    async def read_post(self, **params: Any) -> dict[str, Any]:
        """A read with a long body (POST api.php, no token), e.g. action=parse of given wikitext."""
        return await self._action("POST", params, write=False)

    async def post(self, **params: Any) -> dict[str, Any]:
        """A write (POST api.php with a CSRF token)."""
        return await self._action("POST", params, write=True)

    async def query_list(
        self, key: str, limit: int, cursor: Mapping[str, Any] | None = None, **params: Any
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Follow `continue` until `limit` items of query[key]; returns items and the next continuation."""
        items: list[dict[str, Any]] = []
        current: dict[str, Any] = {"action": "query", **params, **(cursor or {})}
        while True:
            body = await self.get(**current)
            items.extend(body.get("query", {}).get(key, []))
            nxt = body.get("continue")
            if not nxt:
                return items[:limit], None
            if len(items) >= limit:
                return items[:limit], nxt
            current = {"action": "query", **params, **nxt}

    async def rest_get(self, path: str, **params: Any) -> dict[str, Any]:
        """GET rest.php/<path> as the bot; a 401/403 (session gone, private wiki) logs in again once."""
        for retry in (False, True):
            await self._ensure_login()
            session = self.logins
            body = await self._send("GET", f"{self.rest_url}/{path.lstrip('/')}", params=params or None)
            status = int(body.get("httpCode", 200))
            if status in (401, 403) and not retry:
                self._session_lost(session)
                continue
            if status >= 400:
                code = str(body.get("errorKey") or status)
                message = body.get("messageTranslations", {}).get("en") or body.get("message") or code
                raise WikiApiError(code, str(message))
            return body
        raise AssertionError("unreachable")  # pragma: no cover

    async def ping(self) -> None:
        """Readiness: the wiki answers and the bot can log in."""
        await self.get(action="query", meta="userinfo")


class _LoginCookiesOnly(DefaultCookiePolicy):
    """A cookie policy that sends what the jar holds and stores nothing from an answer."""

    def set_ok(self, cookie: Cookie, request: urllib.request.Request) -> bool:
        return False


def page_path(title: str) -> str:
    """A title as a REST path segment (spaces as underscores, '/' escaped)."""
    return quote(title.replace(" ", "_"), safe="")


def _first_error(body: dict[str, Any]) -> tuple[str, str] | None:
    errors = body.get("errors")
    if errors:
        first = errors[0]
        return str(first.get("code", "unknown")), str(
            first.get("text") or first.get("*") or first.get("info") or ""
        )
    error = body.get("error")
    if error:
        return str(error.get("code", "unknown")), str(error.get("info") or error.get("text") or "")
    return None
