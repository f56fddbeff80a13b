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
        # The client builds each request (httpx2's default headers + these, the base-URL merge, the
        # timeout) and closes the transport; requests are sent straight to the transport, never through
        # it, so its cookie jar stays empty and nothing of its send loop runs.
        self._client = httpx2.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=timeout,
            transport=self.transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

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
        request = self._client.build_request(method, url, headers=headers, params=params or None, json=json)
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
