"""BackendHTTP: the one HTTP client shape every backend client uses, without httpx2.AsyncClient's
per-request layers (issue 18, item 4).

A backend client needs default headers (its credential), one timeout, one transport (outage handling
on top) and answers it can stream. `AsyncClient.send` adds, on every request, an auth flow, a
redirect loop, a cookie jar and event hooks - none of which a backend client uses - and that was
about a sixth of a backend request's CPU. Here a request is built once (the client's own default
headers, timeout and base-URL merge) and handed to the transport.

What is deliberately different from `AsyncClient`: there is no cookie jar, so a cookie a backend sets
is never sent back on a later request - which may be made for another user (`Sudo`). Redirects are
never followed here; the backend clients decide what to do with a 3xx themselves (a write is never
replayed elsewhere). And Sentry's SDK, which instruments `AsyncClient.send` when SENTRY_DSN is set,
sees these requests no more: no `sentry-trace`/`baggage` headers go to a backend, and no breadcrumb
records a backend URL (which holds what the caller asked for: owner, repository, search words - the
fleet sends Sentry nothing the caller sent).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx2

from ._outage import OutageTransport

__all__ = ["BackendHTTP"]


class BackendHTTP:
    """`BackendHTTP("Gitea", headers={"Authorization": ...}, timeout=httpx2.Timeout(15))`; `transport`
    replaces the network (tests pass an `httpx2.MockTransport`); it is wrapped in `OutageTransport`."""

    def __init__(
        self,
        backend: str,
        *,
        base_url: str = "",
        headers: Mapping[str, str],
        timeout: httpx2.Timeout,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.transport = OutageTransport(backend, transport)  # an outage is answered at once (12.9)
        # The client is kept for its configuration (httpx2's default headers + these, the base URL)
        # and to close the transport; requests don't go through it.
        self._client = httpx2.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=timeout,
            transport=self.transport,
            follow_redirects=False,
        )
        self.headers = self._client.headers
        self.base_url = self._client.base_url
        self._extensions = {"timeout": timeout.as_dict()}

    async def aclose(self) -> None:
        await self._client.aclose()

    def url(self, url: str) -> httpx2.URL:
        """`url`, or a path under the base URL (merged as httpx2.AsyncClient merges it)."""
        target = httpx2.URL(url)
        if target.is_relative_url:
            base = self.base_url
            target = base.copy_with(raw_path=base.raw_path + target.raw_path.lstrip(b"/"))
        return target

    async def open(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx2.Response:
        """Send one request; the answer's body is still to be read (`aiter_bytes`/`aread`, `aclose`)."""
        merged = self.headers.copy()
        if headers:
            merged.update(headers)
        request = httpx2.Request(
            method,
            self.url(url),
            params=params or None,
            headers=merged,
            json=json,
            extensions=self._extensions,
        )
        response = await self.transport.handle_async_request(request)
        response.request = request
        return response

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx2.Response:
        """Send one request and read its whole answer."""
        response = await self.open(method, url, headers=headers, params=params, json=json)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response
