"""Dev authorization server edges an attack run got through (issue 12, findings 6 and 8).

Each test performs the attack and asserts it fails.
"""

from __future__ import annotations

import io
import pathlib

import anyio
import httpx2
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.datastructures import Headers, UploadFile

from fleet_frontdoor.authserver import build_auth_server, sessions
from fleet_frontdoor.authserver.browser import approve_in_browser, form_fields
from fleet_frontdoor.authserver.context import OAuthError
from fleet_frontdoor.authserver.device import MAX_FAILURES
from fleet_frontdoor.authserver.testing import Clock, asgi_client, pkce_pair, sample_manifest, seeded
from fleet_frontdoor.manifest import ClientEntry, redirect_uri_problem

ISSUER = "http://127.0.0.1:8701"
DB = "http://127.0.0.1:8700/mcp/db"
REDIRECT = "http://127.0.0.1:5555/callback"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(tmp_path: pathlib.Path, clock: Clock) -> Starlette:
    return build_auth_server(
        sample_manifest(), state_dir=seeded(tmp_path), clock=clock, dev_token_endpoint=True
    )


def authorize(challenge: str, redirect: str) -> str:
    params = httpx2.QueryParams(
        response_type="code",
        client_id="fleet-client",
        redirect_uri=redirect,
        code_challenge=challenge,
        code_challenge_method="S256",
        resource=DB,
        scope="db:read",
        state="s",
    )
    return f"{ISSUER}/oauth/authorize?{params}"


@pytest.mark.parametrize(
    "redirect",
    [
        "http://127.0.0.1:5555/call\tback",  # urlsplit drops TAB/CR/LF before comparing
        "http://127.0.0.1:5555/callback\r\n",
        "http://127.0.0.1:5555/ca\nllback",
        "http://127.0.0.1:5555/callback\t",
        "HTTP://127.0.0.1:5555/callback",  # urlsplit lower-cases the scheme
        "Http://127.0.0.1:5555/callback",
        "http://127.0.0.1:0/callback",  # port 0
        "http://127.0.0.1/callback ",
    ],
)
async def test_finding6_redirect_uris_that_only_parse_like_the_registered_one(
    app: Starlette, redirect: str
) -> None:
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        r = await http.get(authorize(challenge, redirect))
    assert r.status_code == 400
    assert "location" not in r.headers
    assert "redirect_uri is not registered" in r.text
    assert redirect_uri_problem(redirect) is not None


def test_finding6_the_same_rule_guards_registration() -> None:
    for uri in (
        "HTTP://127.0.0.1/cb",
        "http://127.0.0.1:0/cb",
        "http://127.0.0.1/c\tb",
        "https://x.example/a b",
    ):
        with pytest.raises(ValidationError, match="redirect URI"):
            ClientEntry(client_id="x", redirect_uris=(uri,))
    assert redirect_uri_problem("https://app.example.com/cb") is None
    assert redirect_uri_problem("http://[::1]:8080/cb?x=1") is None


async def test_finding6_a_token_request_without_code_verifier_spends_the_code(app: Starlette) -> None:
    verifier, challenge = pkce_pair()
    with anyio.fail_after(10):
        async with asgi_client(app) as http:
            location = await approve_in_browser(authorize(challenge, REDIRECT), user="alice", http=http)
            code = httpx2.URL(location).params["code"]
            base = {"grant_type": "authorization_code", "code": code, "client_id": "fleet-client"}
            missing = await http.post("/oauth/token", data={**base, "redirect_uri": REDIRECT})
            after = await http.post(
                "/oauth/token", data={**base, "redirect_uri": REDIRECT, "code_verifier": verifier}
            )
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    assert after.status_code == 400
    assert after.json()["error"] == "invalid_grant"  # the code was spent by the first attempt


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8701", "127.0.0.1.nip.io:8701", ""])
async def test_finding6_dev_token_refuses_a_rebound_host_name(app: Starlette, host: str) -> None:
    async with asgi_client(app) as http:
        refused = await http.post(
            "/dev/token", json={"user": "alice", "scope": "db:read"}, headers={"Host": host}
        )
        ok = await http.post(
            "/dev/token", json={"user": "alice", "scope": "db:read"}, headers={"Host": "localhost:8701"}
        )
    assert refused.status_code == 403
    assert "loopback host name" in refused.json()["error_description"]
    assert ok.status_code == 200


async def _guess(http: httpx2.AsyncClient, code: str) -> httpx2.Response:
    http.cookies.clear()  # a guesser drops its cookie: the limit must not depend on it
    page = await http.get("/device")
    action, fields = form_fields(page.text)
    return await http.post(action, data={**fields, "user_code": code, "user": "alice"})


async def test_finding6_wrong_device_user_codes_are_rate_limited(app: Starlette, clock: Clock) -> None:
    with anyio.fail_after(20):
        async with asgi_client(app) as http:
            start = await http.post(
                "/oauth/device/code", data={"client_id": "fleet-client", "scope": "db:read", "resource": DB}
            )
            real = start.json()["user_code"]
            for i in range(MAX_FAILURES):
                wrong = await _guess(http, f"BCDF-{i:04d}".replace("0", "G"))
                assert wrong.status_code == 400
                assert "Unknown or expired code" in wrong.text
            locked = await _guess(http, real)  # even the right code waits: no oracle while locked
            assert locked.status_code == 429
            assert "Too many" in locked.text
            clock.now += 301
            assert (await _guess(http, real)).status_code == 200


async def test_finding6_anonymous_device_page_views_are_bounded(
    app: Starlette, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sessions, "MAX_ANONYMOUS", 20)
    store = app.state.ctx.store
    with anyio.fail_after(20):
        async with asgi_client(app) as http:
            for _ in range(60):
                http.cookies.clear()
                assert (await http.get("/device")).status_code == 200
            assert store.one("SELECT count(*) AS n FROM browsers WHERE user IS NULL")["n"] <= 20
            newest = store.one("SELECT max(expires) AS e FROM browsers WHERE user IS NULL")["e"]
            assert newest <= clock.now + sessions.ANONYMOUS_SECONDS  # minutes, not 8 hours


async def test_an_uploaded_file_is_closed_when_the_answer_is_sent(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Left to the garbage collector, an upload's temporary file warns in whatever runs next.
    closed: list[str | None] = []
    close = UploadFile.close

    async def recording_close(self: UploadFile) -> None:
        closed.append(self.filename)
        await close(self)

    monkeypatch.setattr(UploadFile, "close", recording_close)
    async with asgi_client(app) as http:
        r = await http.post("/oauth/revoke", files={"token": ("token", b"x" * 2048, "text/plain")})
    assert r.status_code in (400, 401)
    assert closed == ["token"]


async def test_finding8_a_multipart_resource_is_a_400_not_a_500(app: Starlette) -> None:
    async with asgi_client(app) as http:
        r = await http.post(
            "/oauth/device/code",
            data={"client_id": "fleet-client", "scope": "db:read"},
            files={"resource": ("resource", b"http://127.0.0.1:8700/mcp/db", "text/plain")},
        )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    upload = UploadFile(file=io.BytesIO(), filename="resource", headers=Headers())
    with pytest.raises(OAuthError, match="resource must be text"):
        app.state.ctx.check_resource([upload])
