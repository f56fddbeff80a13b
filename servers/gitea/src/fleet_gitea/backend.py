"""A thin typed async client for the Gitea REST API v1, acting as a user via the `Sudo` header.

One service token (a site admin's) authenticates every request; `Sudo: <username>` makes Gitea apply
that user's own permissions. Reads retry a few times on 429/5xx; writes never retry and never follow
a redirect (a 301/302 would replay a POST as a GET and silently lose the write — gitea-mcp #154).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx2

from fleet_core import BackendError, BackendHTTP, RetryPolicy, ToolError

__all__ = ["GiteaClient", "Page", "repo_path"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 3
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_LINK_NEXT = re.compile(r'<[^>]*[?&]page=(\d+)[^>]*>\s*;\s*rel="next"')


def repo_path(owner: str, repo: str, *rest: str) -> str:
    for name in (owner, repo):
        if not _NAME.fullmatch(name) or name in (".", ".."):
            raise ToolError(f"invalid owner or repository name {name!r}")
    return "/".join(["", "repos", owner, repo, *rest])


def file_path(path: str) -> str:
    parts = [p for p in path.strip("/").split("/") if p]
    if not parts or any(p in (".", "..") for p in parts) or any(ord(c) < 0x20 for c in path):
        raise ToolError(f"invalid file path {path!r}")
    return quote("/".join(parts), safe="/")


@dataclass(frozen=True)
class Page:
    """One page of a list endpoint: its items and whether Gitea says there is another page."""

    items: list[Any]
    next_page: int | None
    total: int | None


class GiteaClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 15.0,
        read_retries: int = 2,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api = f"{self.base_url}/api/v1"
        self.timeout = timeout
        self.read_retries = read_retries
        self._read_policy, self._write_policy = RetryPolicy(retries=read_retries), RetryPolicy(retries=0)
        self._http = BackendHTTP(
            "Gitea",
            headers={"Authorization": f"token {token}", "Accept": "application/json"},
            timeout=httpx2.Timeout(timeout),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ core request
    async def _send(
        self,
        method: str,
        path: str,
        sudo: str | None,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        stream_limit: int | None = None,
        tail: bool = False,
    ) -> tuple[httpx2.Response, bytes, bool]:
        url = self.api + path
        headers = {"Sudo": sudo} if sudo is not None else {}
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        # Reads are resent on 429/5xx; a write never is (it may have landed before the error).
        retries = (self._read_policy if method == "GET" else self._write_policy).start()
        redirects = 0
        while True:
            try:
                # The whole exchange, not each read: a backend dripping bytes is cut off too.
                async with asyncio.timeout(self.timeout * 1.5):
                    response, body, more = await self._once(
                        method, url, headers, query, json, stream_limit, tail
                    )
            except (httpx2.TimeoutException, TimeoutError) as e:
                raise BackendError(f"Gitea did not answer within {self.timeout:g}s ({method} {path})") from e
            except httpx2.TransportError as e:
                raise BackendError(f"Gitea is unreachable at {self.base_url}: {e.__class__.__name__}") from e
            if 300 <= response.status_code < 400:
                url = self._redirect(method, path, url, response)
                query = {}  # the Location already carries the query
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise BackendError(f"Gitea redirected {method} {path} too many times")
                continue
            if response.status_code in RETRY_STATUSES and await retries.wait(response.headers):
                continue
            if response.status_code == 429 and retries.retry_after is not None:
                raise BackendError(
                    f"Gitea rate limit reached on {method} {path}; retry after {retries.retry_after:g}s"
                )
            _raise_for_status(method, path, response, body, sudo)
            return response, body, more

    async def _once(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        query: dict[str, Any],
        json: Any,
        limit: int | None,
        tail: bool,
    ) -> tuple[httpx2.Response, bytes, bool]:
        """One exchange; with `limit`, keep only the first (or, with `tail`, the last) `limit` bytes."""
        response = await self._http.open(method, url, headers=headers, params=query, json=json)
        try:
            body, more = bytearray(), False
            async for chunk in response.aiter_bytes():
                body += chunk
                if limit is not None and len(body) > limit:
                    more = True
                    if not tail:
                        break  # stop downloading: the caller only shows the first `limit` bytes
                    del body[: len(body) - limit]
            return response, bytes(body[:limit] if limit is not None else body), more
        finally:
            await response.aclose()

    def _redirect(self, method: str, path: str, url: str, response: httpx2.Response) -> str:
        location = response.headers.get("location", "")
        if method != "GET":
            # Following would turn the write into a GET (301/302) or replay it somewhere unchecked.
            raise BackendError(
                f"Gitea answered {method} {path} with a redirect "
                f"({response.status_code} → {location or '?'}); refusing to follow it for a write. "
                "Check FLEET_GITEA_URL (scheme, host, sub-path)."
            )
        target = urljoin(url, location)
        if urlsplit(target)[:2] != urlsplit(self.api)[:2]:
            # A cross-origin hop would carry the service token and Sudo header somewhere else.
            raise BackendError(f"Gitea redirected {path} to another origin ({target}); not following it")
        return target

    # ------------------------------------------------------------------ typed helpers
    async def get_json(self, path: str, sudo: str, params: Mapping[str, Any] | None = None) -> Any:
        _, body, _ = await self._send("GET", path, sudo, params=params)
        return _decode(body, path)

    async def get_page(self, path: str, sudo: str, params: Mapping[str, Any] | None = None) -> Page:
        response, body, _ = await self._send("GET", path, sudo, params=params)
        data = _decode(body, path)
        items = data if isinstance(data, list) else data.get("data") or data.get("workflow_runs") or []
        match = _LINK_NEXT.search(response.headers.get("link", ""))
        total = response.headers.get("x-total-count")
        return Page(
            items, int(match.group(1)) if match else None, int(total) if total and total.isdigit() else None
        )

    async def get_text(self, path: str, sudo: str, *, limit: int) -> tuple[str, bool]:
        """Up to `limit` bytes of a text endpoint, and whether there was more."""
        _, body, more = await self._send("GET", path, sudo, stream_limit=limit)
        return body.decode("utf-8", errors="replace"), more

    async def get_text_tail(self, path: str, sudo: str, *, limit: int) -> tuple[str, bool]:
        """The last `limit` bytes of a text endpoint (streamed, not held whole); whether more came before."""
        _, body, more = await self._send("GET", path, sudo, stream_limit=limit, tail=True)
        return body.decode("utf-8", errors="replace"), more

    async def write(
        self, method: str, path: str, sudo: str, body: Any = None, *, params: Mapping[str, Any] | None = None
    ) -> Any:
        _, raw, _ = await self._send(method, path, sudo, json=body, params=params)
        return _decode(raw, path) if raw.strip() else None

    async def version(self) -> str:
        """Gitea's version, with the service token alone (the readiness probe)."""
        _, body, _ = await self._send("GET", "/version", None)
        return str(_decode(body, "/version").get("version", "?"))


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _decode(body: bytes, path: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as e:
        raise BackendError(f"Gitea sent a non-JSON answer for {path}") from e


def _message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    message = data.get("message", "") if isinstance(data, dict) else ""
    return str(message)[:300]


def _raise_for_status(
    method: str, path: str, response: httpx2.Response, body: bytes, sudo: str | None
) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = _message(body)
    suffix = f": {detail}" if detail else ""
    who = f" as {sudo}" if sudo else ""
    if status == 401:
        raise BackendError("Gitea rejected the service token (check FLEET_GITEA_TOKEN)")
    if status == 404:
        raise ToolError(f"not found{who} (it does not exist or you cannot see it): {method} {path}{suffix}")
    if status == 403:
        raise ToolError(f"Gitea refused {method} {path}{who}: permission denied{suffix}")
    if status in RETRY_STATUSES:
        raise BackendError(f"Gitea failed ({status}) on {method} {path}{suffix}")
    raise ToolError(f"Gitea rejected {method} {path} ({status}){suffix}")
