"""The client on its own: Link cursors, retries and their bounds, error mapping, safe paths."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest

from fleet_core import BackendError, ToolError
from fleet_sentry.backend import SentryClient, parse_next_cursor
from fleet_sentry.fake import FakeSentry, serve_fake

LINK = (
    '<https://sentry.io/api/0/organizations/acme/issues/?&cursor=1735689600000:0:1>; rel="previous"; '
    'results="false"; cursor="1735689600000:0:1", '
    '<https://sentry.io/api/0/organizations/acme/issues/?&cursor=1735689600000:100:0>; rel="next"; '
    'results="true"; cursor="1735689600000:100:0"'
)


def test_next_cursor_comes_from_the_link_header() -> None:
    assert parse_next_cursor(LINK) == "1735689600000:100:0"
    assert parse_next_cursor(LINK.replace('results="true"', 'results="false"')) is None
    assert parse_next_cursor(None) is None
    assert parse_next_cursor("garbage") is None


async def test_pages_are_followed_and_never_cut(client: SentryClient, fake: FakeSentry) -> None:
    fake.page_size_cap = 2
    page = await client.projects("acme", query=None, limit=3, cursor=None)
    assert [p["slug"] for p in page.items] == ["backend", "frontend", "checkout"]
    assert page.next_cursor is None
    sizes = [dict(c.query)["per_page"] for c in fake.calls]
    assert sizes == ["3", "1"]  # the second request asks only for what is still missing


async def test_a_write_is_never_retried_on_5xx(client: SentryClient, fake: FakeSentry) -> None:
    fake.fail(503, times=1, match="/issues/1001/")
    with pytest.raises(BackendError, match="HTTP 503"):
        await client.update_issue("acme", "1001", {"status": "resolved"})
    assert [c.method for c in fake.calls] == ["PUT"]
    assert fake.issues["1001"]["status"] == "unresolved"


async def test_a_write_is_retried_after_429(client: SentryClient, fake: FakeSentry) -> None:
    fake.fail(429, times=1, retry_after="0")
    await client.update_issue("acme", "1001", {"status": "resolved"})
    assert [c.method for c in fake.calls] == ["PUT", "PUT"]
    assert fake.issues["1001"]["status"] == "resolved"


async def test_persistent_429_stops_after_the_retry_budget(client: SentryClient, fake: FakeSentry) -> None:
    fake.fail(429, times=10, retry_after="0")
    with anyio.fail_after(5), pytest.raises(BackendError, match="rate limit"):
        await client.organization("acme")
    assert len(fake.calls) == 3


async def test_a_bad_token_is_a_backend_error_not_the_callers_fault(
    make_settings: Any, fake: FakeSentry
) -> None:
    import httpx2

    async with SentryClient(make_settings(auth_token="wrong"), transport=httpx2.ASGITransport(app=fake)) as c:
        with pytest.raises(BackendError, match="401"):
            await c.organization("acme")


async def test_a_timed_out_write_is_not_retried(make_settings: Any, fake: FakeSentry) -> None:
    fake.stall("/comments/")
    async with serve_fake(fake) as url:
        async with SentryClient(make_settings(base_url=url, timeout_seconds=0.3)) as c:
            with anyio.fail_after(10), pytest.raises(BackendError, match="did not answer"):
                await c.add_note("acme", "1001", "hello")
        fake.release()
    assert [c.method for c in fake.calls] == ["POST"]


@pytest.mark.parametrize("bad", ["..", ".", ""])
async def test_dot_segments_never_reach_sentry(client: SentryClient, fake: FakeSentry, bad: str) -> None:
    with pytest.raises(ToolError, match="invalid identifier"):
        await client.release("acme", bad)
    assert fake.calls == []


async def test_path_segments_are_encoded(client: SentryClient, fake: FakeSentry) -> None:
    with pytest.raises(ToolError, match="Not found"):
        await client.release("acme", "x/../../../organizations")
    assert fake.calls[-1].path == "/api/0/organizations/acme/releases/x%2F..%2F..%2F..%2Forganizations/"
    assert fake.calls[-1].operation == "getOrganizationRelease"


async def test_a_trace_that_is_not_a_list_is_a_backend_error(make_settings: Any) -> None:
    """The trace endpoint answers an array of root spans; an object must not be walked as one."""
    transport = httpx2.MockTransport(lambda _: httpx2.Response(200, json={"detail": "a proxy's page"}))
    async with SentryClient(make_settings(), transport=transport) as c:
        with anyio.fail_after(5), pytest.raises(BackendError, match="with a dict, not a list"):
            await c.trace("acme", "a" * 32, stats_period=None)
