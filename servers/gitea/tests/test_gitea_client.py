"""The thin Gitea client on its own (httpx2 MockTransport): paging, errors, caps, path safety."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import anyio
import httpx2
import pytest

from fleet_core import BackendError, ToolError
from fleet_gitea.backend import GiteaClient, file_path, repo_path
from fleet_gitea.ops import GiteaOps


def client(handler: Callable[[httpx2.Request], httpx2.Response]) -> GiteaClient:
    return GiteaClient("http://gitea.test/", "svc-token", transport=httpx2.MockTransport(handler))


async def test_page_reads_link_next_and_total() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        link = (
            '<http://gitea.test/api/v1/user/repos?limit=2&page=3>; rel="next", <http://x?page=9>; rel="last"'
        )
        return httpx2.Response(200, json=[{"id": 1}], headers={"Link": link, "X-Total-Count": "17"})

    gitea = client(handler)
    page = await gitea.get_page("/user/repos", "alice", {"page": 2, "limit": 2, "skip": None, "flag": True})
    await gitea.aclose()
    assert (page.items, page.next_page, page.total) == ([{"id": 1}], 3, 17)
    request = seen[0]
    assert request.headers["sudo"] == "alice"
    assert request.headers["authorization"] == "token svc-token"
    assert str(request.url) == "http://gitea.test/api/v1/user/repos?page=2&limit=2&flag=true"


async def test_last_page_has_no_next() -> None:
    gitea = client(lambda request: httpx2.Response(200, json=[]))
    page = await gitea.get_page("/user/repos", "alice")
    await gitea.aclose()
    assert (page.next_page, page.total) == (None, None)


async def test_connection_refused_is_a_backend_error() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused")

    gitea = client(handler)
    with pytest.raises(BackendError, match=r"unreachable at http://gitea\.test"):
        await gitea.get_json("/user", "alice")
    await gitea.aclose()


async def test_non_json_answer_is_a_backend_error() -> None:
    gitea = client(lambda request: httpx2.Response(200, text="<html>login</html>"))
    with pytest.raises(BackendError, match="non-JSON"):
        await gitea.get_json("/user", "alice")
    await gitea.aclose()


async def test_error_messages_never_echo_the_token() -> None:
    gitea = client(lambda request: httpx2.Response(401, json={"message": "token svc-token is invalid"}))
    with pytest.raises(BackendError) as caught:
        await gitea.get_json("/user", "alice")
    await gitea.aclose()
    assert "svc-token" not in str(caught.value)


async def test_text_is_capped_and_marked() -> None:
    gitea = client(lambda request: httpx2.Response(200, text="x" * 5000))
    text, more = await gitea.get_text("/repos/a/b/pulls/1.diff", "alice", limit=100)
    await gitea.aclose()
    assert (len(text), more) == (100, True)


async def test_version_probe_sends_no_sudo() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"version": "1.24.0"})

    gitea = client(handler)
    assert await gitea.version() == "1.24.0"
    await gitea.aclose()
    assert "sudo" not in seen[0].headers


@pytest.mark.parametrize(
    ("owner", "repo"), [("..", "x"), ("a/b", "x"), ("a", "b?c"), ("a", ""), ("a\n", "b")]
)
def test_repo_path_refuses_traversal_and_odd_names(owner: str, repo: str) -> None:
    with pytest.raises(ToolError):
        repo_path(owner, repo)


@pytest.mark.parametrize("path", ["../x", "a/../../b", "", "/", "a/\x00b"])
def test_file_path_refuses_traversal(path: str) -> None:
    with pytest.raises(ToolError):
        file_path(path)


def test_file_path_is_quoted_segment_by_segment() -> None:
    assert file_path("/docs/my file#1.md") == "docs/my%20file%231.md"


async def test_tail_keeps_only_the_last_bytes() -> None:
    gitea = client(lambda request: httpx2.Response(200, text="".join(f"line {i}\n" for i in range(1000))))
    text, more = await gitea.get_text_tail("/repos/a/b/actions/jobs/1/logs", "alice", limit=20)
    await gitea.aclose()
    assert more is True
    assert text.endswith("line 999\n")
    assert len(text) == 20


async def test_a_cookie_gitea_sets_for_one_user_is_not_sent_for_the_next() -> None:
    """Gitea may answer with a session cookie (i_like_gitea): sent back on the next request, made as
    another user via Sudo, it could carry the first user's session. The client keeps no cookies."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        who = request.headers["sudo"]
        return httpx2.Response(
            200, json={"login": who}, headers={"Set-Cookie": f"i_like_gitea={who}-session"}
        )

    gitea = client(handler)
    assert (await gitea.get_json("/user", "alice"))["login"] == "alice"
    assert (await gitea.get_json("/user", "bob"))["login"] == "bob"
    await gitea.aclose()
    assert [r.headers["sudo"] for r in seen] == ["alice", "bob"]
    assert [r.headers.get("cookie") for r in seen] == [None, None]


class Drip(httpx2.AsyncByteStream):
    """An answer that never ends, one byte at a time, each well within the read timeout."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            await asyncio.sleep(0.02)
            yield b" "


async def test_an_answer_that_never_ends_hits_the_overall_deadline() -> None:
    """httpx2's read timeout is per read: a backend dripping bytes never trips it. The client's own
    deadline (1.5 x the timeout per attempt) ends the call with the timeout message."""

    async def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, stream=Drip())

    gitea = GiteaClient("http://gitea.test", "t", timeout=0.1, transport=httpx2.MockTransport(handler))
    with anyio.fail_after(5), pytest.raises(BackendError, match=r"did not answer within 0\.1s"):
        await gitea.get_json("/user", "alice")
    await gitea.aclose()


async def test_a_cancelled_call_cancels_both_of_its_reads() -> None:
    """get_issue reads the issue and its comments at once; when the caller's request is cancelled
    (an anyio cancel scope, as the SDK uses), neither read is left running."""
    started: list[str] = []
    cancelled: list[str] = []

    async def handler(request: httpx2.Request) -> httpx2.Response:
        started.append(request.url.path)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(request.url.path)
            raise
        raise AssertionError("not reached")

    gitea = GiteaClient("http://gitea.test", "t", transport=httpx2.MockTransport(handler))
    with anyio.fail_after(5):
        with anyio.move_on_after(0.05) as scope:
            await GiteaOps(gitea).get_issue("alice", "a", "b", 1)
        assert scope.cancelled_caught
    await gitea.aclose()
    assert (
        sorted(started)
        == sorted(cancelled)
        == ["/api/v1/repos/a/b/issues/1", "/api/v1/repos/a/b/issues/1/comments"]
    )
