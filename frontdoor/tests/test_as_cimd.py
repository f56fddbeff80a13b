"""Client ID Metadata Documents: validation, SSRF defences, caching (checklist A10-A13)."""

import pathlib
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from fleet_core.testing import in_own_task, running_app
from fleet_frontdoor.authserver import build_auth_server
from fleet_frontdoor.authserver.browser import approve_in_browser
from fleet_frontdoor.authserver.cimd import CimdError, CimdFetcher
from fleet_frontdoor.authserver.testing import Clock, asgi_client, pkce_pair, sample_manifest, seeded

ISSUER = "http://127.0.0.1:8701"
DB = "http://127.0.0.1:8700/mcp/db"
CALLBACK = "http://127.0.0.1:6000/cb"


def doc(request: Request, **extra: object) -> dict[str, Any]:
    return {
        "client_id": str(request.url),
        "client_name": "Good <b>App</b>",
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "none",
        **extra,
    }


def metadata_server(hits: dict[str, int]) -> Starlette:
    async def serve(request: Request) -> Response:
        name = request.path_params["name"]
        hits[name] = hits.get(name, 0) + 1
        if name == "cached.json":
            return JSONResponse(doc(request), headers={"Cache-Control": "public, max-age=60"})
        if name == "nostore.json":
            return JSONResponse(doc(request), headers={"Cache-Control": "no-store"})
        if name == "mismatch.json":
            return JSONResponse(doc(request, client_id=str(request.url).replace("mismatch", "other")))
        if name == "redirect.json":
            return RedirectResponse(str(request.url).replace("redirect", "cached"), 302)
        if name == "big.json":
            return JSONResponse(doc(request, padding="x" * 70_000))
        if name == "stream.json":

            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(80):
                    yield b" " * 1024

            return StreamingResponse(chunks(), media_type="application/json")
        if name == "secret.json":
            return JSONResponse(doc(request, client_secret="s3cret"))
        if name == "basic.json":
            return JSONResponse(doc(request, token_endpoint_auth_method="client_secret_basic"))
        if name == "noredirects.json":
            return JSONResponse(doc(request, redirect_uris=[]))
        if name == "badredirect.json":
            return JSONResponse(doc(request, redirect_uris=["http://evil.example/cb"]))
        if name == "notjson.json":
            return Response("<html>", media_type="text/html")
        if name == "slow.json":
            await anyio.sleep(3)
            return JSONResponse(doc(request))
        if name == "gone.json":
            return JSONResponse({"error": "gone"}, 404)
        return JSONResponse(doc(request))

    return Starlette(routes=[Route("/clients/{name}", serve)])


@pytest.fixture
async def docs() -> AsyncIterator[tuple[str, dict[str, int]]]:
    hits: dict[str, int] = {}
    async with in_own_task(running_app(metadata_server(hits))) as base:
        yield base + "/clients", hits


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fetcher(clock: Clock) -> AsyncIterator[CimdFetcher]:
    f = CimdFetcher(allow_loopback=True, clock=clock, timeout=1.0)
    try:
        yield f
    finally:
        await f.aclose()


async def refused(fetcher: CimdFetcher, url: str) -> CimdError:
    with anyio.fail_after(10), pytest.raises(CimdError) as info:
        await fetcher.get(url)
    return info.value


async def test_valid_document(fetcher: CimdFetcher, docs: tuple[str, dict[str, int]]) -> None:
    base, _ = docs
    meta = await fetcher.get(f"{base}/ok.json")
    assert meta.client_id == f"{base}/ok.json"
    assert meta.redirect_uris == (CALLBACK,)
    assert meta.client_name == "Good <b>App</b>"


async def test_http_client_id_is_unauthorized_without_the_dev_flag(docs: tuple[str, dict[str, int]]) -> None:
    base, hits = docs
    strict = CimdFetcher(allow_loopback=False, clock=time.time)
    try:
        err = await refused(strict, f"{base}/ok.json")
    finally:
        await strict.aclose()
    assert err.error == "unauthorized_client"
    assert hits == {}


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/clients/a.json",
        "https://127.0.0.1/clients/a.json",
        "https://[::1]/clients/a.json",
        "https://[::ffff:127.0.0.1]/clients/a.json",
        "https://10.0.0.1/clients/a.json",
        "https://192.168.1.1/clients/a.json",
        "https://172.16.0.1/clients/a.json",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/clients/a.json",
        "https://0.0.0.0/clients/a.json",
    ],
)
async def test_non_public_addresses_are_refused_before_connecting(url: str) -> None:
    """Checklist A11: loopback needs the dev flag; private, link-local, metadata never."""
    strict = CimdFetcher(allow_loopback=False, clock=time.time)
    try:
        err = await refused(strict, url)
    finally:
        await strict.aclose()
    assert err.error == "invalid_client"
    assert "non-public address" in err.description


@pytest.mark.parametrize(
    "url", ["https://10.0.0.1/c.json", "https://169.254.169.254/latest", "https://[fe80::1]/c.json"]
)
async def test_private_and_link_local_refused_even_with_the_dev_flag(fetcher: CimdFetcher, url: str) -> None:
    assert "non-public" in (await refused(fetcher, url)).description


@pytest.mark.parametrize(
    "url",
    [
        "https://client.example",  # no path
        "https://client.example/",  # no path
        "https://client.example/a.json#frag",
        "https://user:pw@client.example/a.json",
        "https://client.example/x/../a.json",
        "https://client.example/./a.json",
        "ftp://client.example/a.json",
    ],
)
async def test_malformed_client_id_urls(fetcher: CimdFetcher, url: str) -> None:
    """Checklist A10: path required; no fragment, userinfo or dot segments."""
    err = await refused(fetcher, url)
    assert err.error in ("invalid_client", "unauthorized_client")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("mismatch.json", "does not equal its URL"),
        ("redirect.json", "must not redirect"),
        ("big.json", "too large"),
        ("stream.json", "too large"),
        ("secret.json", "no client_secret"),
        ("basic.json", "no client_secret"),
        ("noredirects.json", "1 to 10 redirect_uris"),
        ("badredirect.json", "https or loopback"),
        ("notjson.json", "not JSON"),
        ("gone.json", "404"),
        ("slow.json", "timed out"),
    ],
)
async def test_bad_documents_are_refused(
    fetcher: CimdFetcher, docs: tuple[str, dict[str, int]], name: str, message: str
) -> None:
    base, _ = docs
    err = await refused(fetcher, f"{base}/{name}")
    assert err.error == "invalid_client"
    assert message in err.description


async def test_cache_honours_max_age(
    fetcher: CimdFetcher, clock: Clock, docs: tuple[str, dict[str, int]]
) -> None:
    """Checklist A12."""
    base, hits = docs
    url = f"{base}/cached.json"
    await fetcher.get(url)
    await fetcher.get(url)
    assert hits["cached.json"] == 1
    clock.now += 61
    await fetcher.get(url)
    assert hits["cached.json"] == 2


async def test_no_store_is_refetched(fetcher: CimdFetcher, docs: tuple[str, dict[str, int]]) -> None:
    base, hits = docs
    await fetcher.get(f"{base}/nostore.json")
    await fetcher.get(f"{base}/nostore.json")
    assert hits["nostore.json"] == 2


def auth_query(client_id: str, challenge: str, redirect_uri: str = CALLBACK) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": DB,
        "scope": "db:read",
        "state": "s",
    }
    return f"{ISSUER}/oauth/authorize?{urlencode(params)}"


async def test_cimd_client_full_flow_and_consent_shows_client_host(
    tmp_path: pathlib.Path, docs: tuple[str, dict[str, int]]
) -> None:
    """Checklist A10, A13: consent names the client_id host and redirect host (name is self-asserted)."""
    base, _ = docs
    client_id = f"{base}/ok.json"
    app = build_auth_server(sample_manifest(), state_dir=seeded(tmp_path), allow_loopback_cimd=True)
    verifier, challenge = pkce_pair()
    with anyio.fail_after(15):
        async with asgi_client(app) as http:
            page = await http.get(auth_query(client_id, challenge))
            assert page.status_code == 200
            assert "<b>App</b>" not in page.text  # escaped
            assert "self-asserted" in page.text
            assert f"{urlsplit(base).hostname} <small>(client_id {client_id})" in page.text
            location = await approve_in_browser(auth_query(client_id, challenge), http=http)
            code = parse_qs(urlsplit(location).query)["code"][0]
            r = await http.post(
                "/oauth/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "code_verifier": verifier,
                    "client_id": client_id,
                    "redirect_uri": CALLBACK,
                },
            )
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "db:read"


async def test_cimd_redirect_uri_must_be_listed_exactly(
    tmp_path: pathlib.Path, docs: tuple[str, dict[str, int]]
) -> None:
    base, _ = docs
    app = build_auth_server(sample_manifest(), state_dir=seeded(tmp_path), allow_loopback_cimd=True)
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        other_port = await http.get(auth_query(f"{base}/ok.json", challenge, "http://127.0.0.1:6001/cb"))
        other_path = await http.get(auth_query(f"{base}/ok.json", challenge, "http://127.0.0.1:6000/cb2"))
    for r in (other_port, other_path):
        assert r.status_code == 400
        assert "location" not in r.headers


async def test_authorize_with_refused_cimd_shows_error_without_redirect(
    tmp_path: pathlib.Path, docs: tuple[str, dict[str, int]]
) -> None:
    base, _ = docs
    app = build_auth_server(sample_manifest(), state_dir=seeded(tmp_path))  # no loopback dev flag
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        http_id = await http.get(auth_query(f"{base}/ok.json", challenge))
        mismatch = await http.get(auth_query("https://127.0.0.1:1/clients/x.json", challenge))
    assert http_id.status_code == 400
    assert "unauthorized_client" in http_id.text
    assert "location" not in http_id.headers
    assert mismatch.status_code == 400
    assert "non-public" in mismatch.text


async def test_cimd_client_resource_must_be_allowlisted(
    tmp_path: pathlib.Path, docs: tuple[str, dict[str, int]]
) -> None:
    """Checklist A14: a CIMD client gets only manifest resources, byte for byte."""
    base, _ = docs
    app = build_auth_server(sample_manifest(), state_dir=seeded(tmp_path), allow_loopback_cimd=True)
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        r = await http.get(auth_query(f"{base}/ok.json", challenge).replace("%2Fmcp%2Fdb", "%2Fmcp%2Fdb%2F"))
    got = parse_qs(urlsplit(r.headers["location"]).query)
    assert got["error"] == ["invalid_target"]
    assert got["iss"] == [ISSUER]
