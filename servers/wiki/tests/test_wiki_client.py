"""The MediaWiki client: sessions that expire, wikis that are down or slow, maxlag, bad credentials."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Iterator

import anyio
import httpx2
import pytest

from fleet_core import BackendError, Identity
from fleet_wiki.backend import MediaWikiClient, WikiApiError
from fleet_wiki.embedded import EmbeddedWiki
from fleet_wiki.ops import Wiki


def expire_all_sessions(wiki: EmbeddedWiki) -> int:
    """What the wiki does when sessions time out: their records vanish from the session store."""
    with sqlite3.connect(wiki.session_db) as db:
        return db.execute("DELETE FROM objectcache WHERE keyname LIKE '%MWSession%'").rowcount


async def test_expired_session_on_a_read_logs_in_again_once(
    client: MediaWikiClient, wiki: EmbeddedWiki
) -> None:
    with anyio.fail_after(20):
        before = await client.get(action="query", meta="userinfo")
        assert client.logins == 1
        assert expire_all_sessions(wiki) > 0
        after = await client.get(action="query", meta="userinfo")
    assert before["query"]["userinfo"]["name"] == after["query"]["userinfo"]["name"] == "Fleetbot"
    assert client.logins == 2


async def test_expired_session_on_a_write_logs_in_again_and_saves(
    domain: Wiki, client: MediaWikiClient, wiki: EmbeddedWiki, alice: Identity, title: str
) -> None:
    with anyio.fail_after(20):
        await domain.create_page(alice, title, "one", "")  # logged in, CSRF token cached
        logins = client.logins
        assert expire_all_sessions(wiki) > 0
        result = await domain.append_to_page(alice, title, "\ntwo", None, "")
    assert client.logins == logins + 1
    assert result.revision_id is not None


async def test_lost_cookies_log_in_again(client: MediaWikiClient) -> None:
    with anyio.fail_after(20):
        await client.get(action="query", meta="userinfo")
        client.forget_session()
        body = await client.get(action="query", meta="userinfo")
    assert body["query"]["userinfo"]["name"] == "Fleetbot"
    assert client.logins == 2


async def test_wrong_bot_password_is_a_clear_backend_error(wiki: EmbeddedWiki) -> None:
    async with MediaWikiClient(wiki.url, wiki.bot_username, "wrong-password-wrong-password-00") as bad:
        with anyio.fail_after(20), pytest.raises(BackendError, match="bot login to the wiki failed"):
            await bad.get(action="query", meta="userinfo")


async def test_wrong_url_is_a_clear_backend_error(wiki: EmbeddedWiki) -> None:
    async with MediaWikiClient(f"{wiki.url}/nowhere", wiki.bot_username, wiki.bot_password) as bad:
        with anyio.fail_after(20), pytest.raises(BackendError, match="non-JSON; check FLEET_WIKI_URL"):
            await bad.get(action="query", meta="userinfo")


@pytest.mark.parametrize("answer", ['["not", "an", "object"]', '"a string"', "7", "null"])
async def test_json_that_is_not_an_object_is_a_clear_backend_error(answer: str) -> None:
    """api.php always answers an object; anything else (a proxy, the wrong URL) must not reach the tools."""
    async with MediaWikiClient(
        "http://wiki.test",
        "Bot@x",
        "p",
        transport=httpx2.MockTransport(lambda _: httpx2.Response(200, content=answer)),
    ) as c:
        with anyio.fail_after(5), pytest.raises(BackendError, match="JSON that is not an object"):
            await c.get(action="query", meta="siteinfo")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP listener that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_unreachable_wiki_fails_fast_with_a_clear_error() -> None:
    async with MediaWikiClient(f"http://127.0.0.1:{_closed_port()}", "Bot@x", "p", timeout=2) as down:
        with anyio.fail_after(5), pytest.raises(BackendError, match="unreachable"):
            await down.get(action="query", meta="siteinfo")


async def test_silent_wiki_times_out_within_the_timeout(silent_server: str) -> None:
    async with MediaWikiClient(silent_server, "Bot@x", "p", timeout=0.5) as slow:
        with anyio.fail_after(5), pytest.raises(BackendError, match="did not answer in time"):
            await slow.get(action="query", meta="siteinfo")


class FakeWiki:
    """Just enough api.php for the retry paths MediaWiki can't be made to take on demand."""

    def __init__(self, lagged: int, session_lost: int = 0) -> None:
        self.lagged = lagged
        self.session_lost = session_lost
        self.calls: list[dict[str, str]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        params = dict(request.url.params)
        if request.method == "POST":
            params |= dict(httpx2.QueryParams(request.content.decode()))
        self.calls.append(params)
        if params.get("type") == "login":
            return httpx2.Response(200, json={"query": {"tokens": {"logintoken": "t+\\"}}})
        if params.get("action") == "login":
            return httpx2.Response(200, json={"login": {"result": "Success"}})
        if self.lagged:
            self.lagged -= 1
            error = {"errors": [{"code": "maxlag", "text": "Waiting for db: 7 seconds lagged."}]}
            headers = {"MediaWiki-API-Error": "maxlag", "Retry-After": "0"}
            return httpx2.Response(200, headers=headers, content=json.dumps(error))
        if self.session_lost:
            self.session_lost -= 1
            return httpx2.Response(
                200, json={"errors": [{"code": "assertuserfailed", "text": "not logged in"}]}
            )
        return httpx2.Response(200, json={"query": {"general": {"sitename": "Fake"}}})


async def test_maxlag_is_sent_and_retry_after_is_respected() -> None:
    fake = FakeWiki(lagged=2)
    async with MediaWikiClient("http://wiki.test", "Bot@x", "p", transport=httpx2.MockTransport(fake)) as c:
        with anyio.fail_after(5):
            body = await c.get(action="query", meta="siteinfo")
    assert body["query"]["general"]["sitename"] == "Fake"
    api_calls = [call for call in fake.calls if call.get("meta") == "siteinfo"]
    assert len(api_calls) == 3
    assert all(call["maxlag"] == "5" for call in api_calls)


async def test_persistent_maxlag_gives_up_with_a_backend_error() -> None:
    fake = FakeWiki(lagged=10)
    async with MediaWikiClient(
        "http://wiki.test", "Bot@x", "p", max_retries=1, transport=httpx2.MockTransport(fake)
    ) as c:
        with anyio.fail_after(5), pytest.raises(BackendError, match="overloaded"):
            await c.get(action="query", meta="siteinfo")


async def test_a_long_retry_after_is_not_waited_out() -> None:
    """An hour's Retry-After fails the call at once, saying when to come back (fleet_core.RetryPolicy)."""
    requests: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        requests.append(request)
        return httpx2.Response(429, headers={"Retry-After": "3600"}, text="slow down")

    async with MediaWikiClient(
        "http://wiki.test", "Bot@x", "p", transport=httpx2.MockTransport(handler)
    ) as c:
        with anyio.fail_after(5), pytest.raises(BackendError, match=r"HTTP 429\); try again in 3600s"):
            await c.get(action="query", meta="siteinfo")
    assert len(requests) == 1


async def test_session_lost_twice_is_not_retried_forever() -> None:
    fake = FakeWiki(lagged=0, session_lost=5)
    async with MediaWikiClient("http://wiki.test", "Bot@x", "p", transport=httpx2.MockTransport(fake)) as c:
        with anyio.fail_after(5), pytest.raises(WikiApiError, match="assertuserfailed"):
            await c.get(action="query", meta="siteinfo")
        assert c.logins == 3  # the first login, and at most two more for one call


async def test_a_write_answered_503_is_not_resent() -> None:
    """The edit may have been saved before a proxy gave up: resending could apply it twice."""
    posts: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        params = dict(request.url.params) | dict(httpx2.QueryParams(request.content.decode()))
        if params.get("type") == "login":
            return httpx2.Response(200, json={"query": {"tokens": {"logintoken": "t"}}})
        if params.get("action") == "login":
            return httpx2.Response(200, json={"login": {"result": "Success"}})
        if params.get("type") == "csrf":
            return httpx2.Response(200, json={"query": {"tokens": {"csrftoken": "c+\\"}}})
        posts.append(params["action"])
        return httpx2.Response(503, headers={"Retry-After": "0"}, text="busy")

    async with MediaWikiClient(
        "http://wiki.test", "Bot@x", "p", transport=httpx2.MockTransport(handler)
    ) as c:
        with anyio.fail_after(5), pytest.raises(BackendError, match="HTTP 503"):
            await c.post(action="edit", title="X", appendtext="once")
    assert posts == ["edit"]


async def test_expired_session_before_the_first_csrf_token_logs_in_again(
    client: MediaWikiClient, wiki: EmbeddedWiki, title: str
) -> None:
    with anyio.fail_after(20):
        await client.get(action="query", meta="userinfo")  # logged in, no CSRF token fetched yet
        assert expire_all_sessions(wiki) > 0
        body = await client.post(action="edit", title=title, text="first write", createonly=True)
    assert body["edit"]["result"] == "Success"
    assert client.logins == 2


async def test_concurrent_calls_after_expiry_share_one_new_login(
    client: MediaWikiClient, wiki: EmbeddedWiki
) -> None:
    names: list[str] = []

    async def whoami() -> None:
        body = await client.get(action="query", meta="userinfo")
        names.append(body["query"]["userinfo"]["name"])

    with anyio.fail_after(30):
        await whoami()
        assert expire_all_sessions(wiki) > 0
        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(whoami)
    assert names == ["Fleetbot"] * 9
    # one shared new login, not one per call; a second one only when the wiki did not keep the first
    # (MediaWiki on SQLite with several PHP workers sometimes loses a fresh session)
    assert client.logins in (2, 3)


async def test_an_answer_resetting_the_session_cookie_does_not_log_later_calls_out() -> None:
    # MediaWiki answers a call on a lost session with a fresh anonymous session cookie. When that
    # answer lands after a concurrent call has logged in again, it must not replace the new login.
    sent: list[str] = []

    def wiki(request: httpx2.Request) -> httpx2.Response:
        form = dict(httpx2.QueryParams(request.content.decode())) if request.method == "POST" else {}
        params = {**dict(request.url.params), **form}
        if params.get("meta") == "tokens":
            return httpx2.Response(200, json={"query": {"tokens": {"logintoken": "t+\\"}}})
        if params.get("action") == "login":
            headers = {"set-cookie": "wikisession=logged-in; Path=/"}
            return httpx2.Response(200, json={"login": {"result": "Success"}}, headers=headers)
        sent.append(request.headers.get("cookie", ""))
        headers = {"set-cookie": "wikisession=anonymous; Path=/"}
        return httpx2.Response(200, json={"query": {"userinfo": {"name": "Fleetbot"}}}, headers=headers)

    async with MediaWikiClient("http://wiki.test", "Bot@x", "p", transport=httpx2.MockTransport(wiki)) as c:
        await c.get(action="query", meta="userinfo")
        await c.get(action="query", meta="userinfo")
    assert sent == ["wikisession=logged-in", "wikisession=logged-in"]
    assert c.logins == 1
