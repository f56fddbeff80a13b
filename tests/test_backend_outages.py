"""Every HTTP backend's outage is answered at once and its recovery seen within seconds (finding 12.9).

The backend here is a transport whose host stopped answering (each connection attempt hangs until
its connect timeout, as a blackholed host does); each server's own client sits on top, as in
production. The database's outage is tested against real PostgreSQL in servers/db/tests/test_db_outage.py.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx2
import pytest

from fleet_core import BackendError
from fleet_core.testing import settings_for
from fleet_gitea.backend import GiteaClient
from fleet_sentry.backend import SentryClient
from fleet_sentry.settings import SentrySettings
from fleet_wiki.backend import MediaWikiClient

CONNECT_TIMEOUT = 0.5  # what each call would wait without the outage memory (seconds in real life)


class Backend(httpx2.AsyncBaseTransport):
    def __init__(self, body: dict[str, Any]) -> None:
        self.up, self.body, self.attempts = True, body, 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.attempts += 1
        if not self.up:
            await anyio.sleep(CONNECT_TIMEOUT)
            raise httpx2.ConnectTimeout("connect timed out", request=request)
        return httpx2.Response(200, json=self.body)


def gitea(backend: Backend) -> tuple[Any, Callable[[Any], Awaitable[Any]]]:
    client = GiteaClient("http://gitea.test", "token", transport=backend)
    return client, lambda c: c.get_json("/user", "alice")


def sentry(backend: Backend) -> tuple[Any, Callable[[Any], Awaitable[Any]]]:
    settings = settings_for(
        SentrySettings,
        name="sentry",
        base_url="http://sentry.test",
        auth_token="t" * 20,
        org="acme",
        retry_backoff_seconds=0.05,
        user_email_domain="example.com",
    )
    return SentryClient(settings, transport=backend), lambda c: c.organization("acme")


def wiki(backend: Backend) -> tuple[Any, Callable[[Any], Awaitable[Any]]]:
    client = MediaWikiClient("http://wiki.test/w", "bot", "pw", transport=backend)
    return client, lambda c: c.rest_get("/v1/page/Main_Page")


@pytest.mark.parametrize("make", [gitea, sentry, wiki], ids=["gitea", "sentry", "wiki"])
async def test_finding9_http_backend_outage_is_answered_at_once_and_recovery_is_quick(make: Any) -> None:
    # one body that satisfies each client's first call (and the wiki's login on the way)
    body = {
        "login": {"result": "Success", "lgusername": "bot"},
        "query": {"tokens": {"logintoken": "lt", "csrftoken": "ct"}},
        "slug": "acme",
        "id": "1",
        "name": "acme",
        "key": "Main_Page",
    }
    backend = Backend(body)
    client, call = make(backend)
    try:
        with anyio.fail_after(20):
            await call(client)
            backend.up = False
            with pytest.raises(BackendError):
                await call(client)  # the call that finds out pays the connect timeout
            learned = backend.attempts
            started = time.monotonic()
            for _ in range(5):
                with pytest.raises(BackendError):
                    await call(client)
            assert backend.attempts <= learned + 1  # at most one probe went out
            assert time.monotonic() - started < 1.0 + CONNECT_TIMEOUT  # 5 × 0.5 s without it
            backend.up = True
            back = time.monotonic()
            for _ in range(60):
                try:
                    await call(client)
                    break
                except BackendError:
                    await anyio.sleep(0.1)
            assert time.monotonic() - back < 5.0
    finally:
        await client.aclose()
