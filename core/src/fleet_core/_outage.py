"""Backend outages answered at once: a transport that remembers the backend just could not be reached.

Without it every call to a backend that stopped answering waits out its own connect timeout (a
blackholed host: 5-15 s each), and agents retrying pile up (finding 12.9). With it, once a connection
attempt has failed, further calls fail immediately with the same error class (so each client's own
"unreachable" message applies) until `retry_after` has passed; then one call goes through as a probe,
and the first answer of any kind ends the outage. Recovery is therefore seen within `retry_after`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx2

from ._netbackend import backend_transport

__all__ = ["OutageTransport"]

# Failures that say "the backend is not there", not "this request was slow or bad".
_UNREACHABLE = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.RemoteProtocolError)


class OutageTransport(httpx2.AsyncBaseTransport):
    """Wraps a backend client's transport (`httpx2.AsyncClient(transport=OutageTransport("Gitea"))`)."""

    def __init__(
        self,
        backend: str,
        inner: httpx2.AsyncBaseTransport | None = None,
        *,
        retry_after: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.inner = inner or backend_transport()  # asyncio-native connections (issue 18)
        self.retry_after = retry_after
        self._clock = clock
        self.down: str | None = None  # why the last attempt failed; None while the backend answers
        self._next_probe = 0.0
        self._closed = False

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.down is not None:
            now = self._clock()
            if now < self._next_probe:
                raise httpx2.ConnectError(
                    f"{self.backend} could not be reached a moment ago ({self.down}); not retried yet",
                    request=request,
                )
            self._next_probe = now + self.retry_after  # this call probes; the others keep failing fast
        try:
            response = await self.inner.handle_async_request(request)
        except _UNREACHABLE as exc:
            self.down = type(exc).__name__
            self._next_probe = self._clock() + self.retry_after
            raise
        self.down = None
        return response

    async def aclose(self) -> None:
        if not self._closed:  # two clients may share one (the wiki's API and login clients)
            self._closed = True
            await self.inner.aclose()
