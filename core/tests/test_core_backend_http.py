"""BackendHTTP sends what httpx2.AsyncClient with the same configuration sends - minus the cookie jar
and redirect following, which a backend client must not have (issue 18 item 4)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from fleet_core import BackendHTTP, OutageTransport

HEADERS = {"Authorization": "token svc", "Accept": "application/json"}
TIMEOUT = httpx2.Timeout(15.0, connect=5.0)


class Recorder:
    def __init__(self, answer: httpx2.Response | None = None) -> None:
        self.requests: list[httpx2.Request] = []
        self.answer = answer

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self.answer or httpx2.Response(200, json={"ok": True})


# Sentry's SDK (initialised by other tests in this process) patches AsyncClient.send to add its
# trace headers; BackendHTTP sends a backend none (the module docstring says why).
SENTRY_TRACING = {"sentry-trace", "baggage"}


def _seen(request: httpx2.Request) -> tuple[Any, ...]:
    body = request.read()
    headers = [(k, v) for k, v in request.headers.multi_items() if k not in SENTRY_TRACING]
    return (request.method, str(request.url), headers, body, request.extensions)


@pytest.mark.parametrize(
    ("base_url", "url", "params", "json"),
    [
        ("", "http://gitea.test/api/v1/repos/a/b/issues/1", None, None),
        ("", "http://gitea.test/api/v1/repos/search", {"q": "x y", "page": 2, "limit": 20}, None),
        ("", "http://gitea.test/api/v1/repos/a/b/issues", None, {"title": "t", "labels": [1, 2]}),
        ("https://sentry.test/sub/", "/api/0/organizations/o/issues/", {"project": [1, 2], "q": "é"}, None),
        ("https://sentry.test", "/api/0/organizations/", {"cursor": "0:100:0"}, None),
    ],
)
async def test_a_request_is_the_one_async_client_sends(
    base_url: str, url: str, params: dict[str, Any] | None, json: Any
) -> None:
    direct, through_client = Recorder(), Recorder()
    http = BackendHTTP(
        "Gitea", base_url=base_url, headers=HEADERS, timeout=TIMEOUT, transport=httpx2.MockTransport(direct)
    )
    client = httpx2.AsyncClient(
        base_url=base_url,
        headers=HEADERS,
        timeout=TIMEOUT,
        transport=OutageTransport("Gitea", httpx2.MockTransport(through_client)),
        follow_redirects=False,
    )
    method = "POST" if json is not None else "GET"
    response = await http.request(method, url, headers={"Sudo": "alice"}, params=params, json=json)
    expected = await client.request(method, url, headers={"Sudo": "alice"}, params=params, json=json)
    assert (response.status_code, response.json()) == (expected.status_code, expected.json())
    assert response.request is direct.requests[0]
    assert _seen(direct.requests[0]) == _seen(through_client.requests[0])
    await http.aclose()
    await client.aclose()


async def test_a_cookie_the_backend_sets_is_never_sent_back() -> None:
    """The next request may be made for another user (Sudo): a session cookie from alice's answer
    must not ride along on bob's request."""
    recorder = Recorder(
        httpx2.Response(200, json={}, headers={"Set-Cookie": "i_like_gitea=alice-session; Path=/"})
    )
    http = BackendHTTP("Gitea", headers=HEADERS, timeout=TIMEOUT, transport=httpx2.MockTransport(recorder))
    await http.request("GET", "http://gitea.test/api/v1/user", headers={"Sudo": "alice"})
    await http.request("GET", "http://gitea.test/api/v1/user", headers={"Sudo": "bob"})
    assert [r.headers.get("sudo") for r in recorder.requests] == ["alice", "bob"]
    assert all("cookie" not in r.headers for r in recorder.requests)
    await http.aclose()


async def test_a_redirect_is_returned_not_followed() -> None:
    recorder = Recorder(httpx2.Response(302, headers={"Location": "http://elsewhere.test/steal"}))
    http = BackendHTTP("Gitea", headers=HEADERS, timeout=TIMEOUT, transport=httpx2.MockTransport(recorder))
    response = await http.request("POST", "http://gitea.test/api/v1/repos/a/b/issues", json={"title": "t"})
    assert response.status_code == 302
    assert [str(r.url) for r in recorder.requests] == ["http://gitea.test/api/v1/repos/a/b/issues"]
    await http.aclose()


async def test_the_transport_is_outage_aware_and_closed_with_it() -> None:
    closed: list[bool] = []

    class Inner(httpx2.MockTransport):
        async def aclose(self) -> None:
            closed.append(True)

    http = BackendHTTP("Gitea", headers=HEADERS, timeout=TIMEOUT, transport=Inner(Recorder()))
    assert isinstance(http.transport, OutageTransport)
    await http.aclose()
    assert closed == [True]
