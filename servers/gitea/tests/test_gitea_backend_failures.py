"""Backend failures: unreachable, slow, 5xx/429 retries (reads only), redirects, a bad service token."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from fleet_core.testing import free_port, in_own_task
from fleet_gitea.backend import GiteaClient
from fleet_gitea.fake import FakeGitea
from fleet_gitea.testing import BACKEND_TOOLS, TOKEN, VALID, Harness, mcp_in_front

SLOW_TIMEOUT = 0.3


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dead(shared: Harness) -> AsyncIterator[Harness]:
    # Nothing listens on this port: connection refused.
    async with in_own_task(mcp_in_front(shared.fake, f"http://127.0.0.1:{free_port()}")) as running:
        yield running


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def slow(shared: Harness) -> AsyncIterator[Harness]:
    async with in_own_task(
        mcp_in_front(shared.fake, shared.gitea_url, timeout_seconds=SLOW_TIMEOUT)
    ) as running:
        yield running


@pytest.mark.parametrize("tool", BACKEND_TOOLS)
async def test_tool_reports_an_unreachable_gitea(dead: Harness, tool: str) -> None:
    text = await dead.error(tool, VALID[tool])
    assert "Gitea is unreachable" in text


@pytest.mark.parametrize("tool", BACKEND_TOOLS)
async def test_tool_reports_a_slow_gitea_within_the_timeout(
    slow: Harness, fake: FakeGitea, tool: str
) -> None:
    fake.stall = True
    started = time.monotonic()
    text = await slow.error(tool, VALID[tool])
    assert f"did not answer within {SLOW_TIMEOUT:g}s" in text
    assert time.monotonic() - started < 3  # a clear error soon after the timeout, not a hang
    fake.reset()


async def test_reads_retry_on_503_and_429_then_succeed(h: Harness) -> None:
    h.fake.fail_next = [503, 429]
    mark = len(h.fake.requests)
    result = await h.ok("get_repo", VALID["get_repo"])
    assert result["full_name"] == "alice/demo"
    assert len(h.since(mark)) == 3


async def test_reads_give_up_after_bounded_retries(h: Harness) -> None:
    h.fake.fail_next = [502, 502, 502, 502]
    mark = len(h.fake.requests)
    text = await h.error("get_repo", VALID["get_repo"])
    assert "Gitea failed (502)" in text
    assert len(h.since(mark)) == 3  # one try + read_retries=2


async def test_a_long_retry_after_is_not_waited_out_and_the_error_says_when_to_come_back(
    h: Harness,
) -> None:
    h.fake.fail_next, h.fake.retry_after = [429], "3600"
    mark = len(h.fake.requests)
    text = await h.error("get_repo", VALID["get_repo"])
    assert "rate limit reached on GET /repos/alice/demo; retry after 3600s" in text
    assert len(h.since(mark)) == 1  # given up at once: the caller is not held for an hour


async def test_writes_are_never_retried(h: Harness) -> None:
    h.fake.fail_next = [503]
    mark = len(h.fake.requests)
    text = await h.error("comment_on_issue", VALID["comment_on_issue"])
    assert "Gitea failed (503)" in text
    assert [r.method for r in h.since(mark)] == ["POST"]
    assert h.fake.repos["alice/demo"].issues[1].comments[-1]["body"] != "me too"


async def test_a_redirect_on_a_write_is_refused_not_followed(h: Harness) -> None:
    h.fake.redirect = True
    mark = len(h.fake.requests)
    text = await h.error("create_issue", {**VALID["create_issue"], "labels": None})
    assert "refusing to follow it for a write" in text
    assert [r.method for r in h.since(mark)] == ["POST"]  # never replayed as a GET


async def test_read_redirects_are_bounded(h: Harness) -> None:
    h.fake.redirect = True
    mark = len(h.fake.requests)
    text = await h.error("get_repo", VALID["get_repo"])
    assert "too many times" in text
    assert len(h.since(mark)) == 4


async def test_cross_origin_redirect_is_not_followed(fake: FakeGitea) -> None:
    import httpx2

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(302, headers={"Location": "http://evil.example/steal"})

    client = GiteaClient("http://gitea.test", TOKEN, transport=httpx2.MockTransport(handler))
    with pytest.raises(Exception, match="another origin"):
        await client.get_json("/repos/alice/demo", "alice")
    await client.aclose()


async def test_a_rejected_service_token_is_a_backend_error(shared: Harness, fake: FakeGitea) -> None:
    async with mcp_in_front(fake, shared.gitea_url, token="wrong-token") as running:
        text = await running.error("get_me")
    assert "rejected the service token" in text
    assert "wrong-token" not in text
