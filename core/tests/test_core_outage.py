"""OutageTransport: once a backend could not be reached, callers hear it at once (finding 12.9)."""

from __future__ import annotations

import anyio
import httpx2
import pytest

from fleet_core import OutageTransport


class Backend(httpx2.AsyncBaseTransport):
    """Answers 200 while up; while down, every connection attempt hangs until its connect timeout."""

    def __init__(self) -> None:
        self.up = True
        self.attempts = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.attempts += 1
        if not self.up:
            await anyio.sleep(0.2)  # a blackholed host: the connect timeout (seconds in real life)
            raise httpx2.ConnectTimeout("timed out", request=request)
        return httpx2.Response(200, json={"ok": True})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_known_outage_fails_fast_and_recovery_is_seen_after_one_probe() -> None:
    backend, clock = Backend(), Clock()
    outage = OutageTransport("Gitea", backend, retry_after=1.0, clock=clock)
    with anyio.fail_after(10):
        async with httpx2.AsyncClient(transport=outage, base_url="http://gitea.invalid") as http:
            assert (await http.get("/")).status_code == 200
            backend.up = False
            with pytest.raises(httpx2.ConnectTimeout):
                await http.get("/")  # the one call that learns it, at the timeout's cost
            for _ in range(20):  # everyone else is told at once, the backend isn't asked
                with pytest.raises(httpx2.ConnectError, match="Gitea could not be reached a moment ago"):
                    await http.get("/")
            assert backend.attempts == 2
            clock.now += 1.0  # one probe per retry_after
            with pytest.raises(httpx2.ConnectTimeout):
                await http.get("/")
            assert backend.attempts == 3
            backend.up = True
            with pytest.raises(httpx2.ConnectError):
                await http.get("/")  # not yet: the next probe is due in a second
            clock.now += 1.0
            assert (await http.get("/")).status_code == 200  # the probe sees the recovery
            assert (await http.get("/")).status_code == 200
            assert outage.down is None


async def test_slow_or_failing_answers_are_not_an_outage() -> None:
    async def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(503)

    outage = OutageTransport("Sentry", httpx2.MockTransport(handler))
    async with httpx2.AsyncClient(transport=outage, base_url="http://sentry.invalid") as http:
        assert (await http.get("/")).status_code == 503
        assert (await http.get("/")).status_code == 503
    assert outage.down is None
