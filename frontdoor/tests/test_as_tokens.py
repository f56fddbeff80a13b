"""Dev authorization server: discovery, JWKS, AuthGate claims, refresh rotation, client credentials,
revocation, introspection, userinfo, restart (checklist A1, A4-A8, A16)."""

import pathlib
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import jwt
import pytest
from starlette.applications import Starlette

from fleet_core import dev_subject
from fleet_frontdoor.authserver import build_auth_server
from fleet_frontdoor.authserver.browser import approve_in_browser
from fleet_frontdoor.authserver.testing import (
    SAMPLE_TOML,
    Clock,
    asgi_client,
    manifest_with_issuer,
    pkce_pair,
    sample_manifest,
    seeded,
)

ISSUER = "http://127.0.0.1:8701"
DB = "http://127.0.0.1:8700/mcp/db"
GITEA = "http://127.0.0.1:8700/mcp/gitea"
REDIRECT = "http://127.0.0.1:5555/callback"
CI_SECRET = "ci-secret-for-tests"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(tmp_path: pathlib.Path, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Starlette:
    monkeypatch.setenv("FLEET_TEST_CI_BOT_SECRET", CI_SECRET)
    return build_auth_server(sample_manifest(), state_dir=seeded(tmp_path), clock=clock)


async def user_tokens(
    http: httpx2.AsyncClient, user: str = "alice", scope: str = "db:read db:write"
) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": "fleet-client",
        "redirect_uri": REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": DB,
        "scope": scope,
    }
    location = await approve_in_browser(f"{ISSUER}/oauth/authorize?{urlencode(params)}", user=user, http=http)
    code = parse_qs(urlsplit(location).query)["code"][0]
    r = await http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "client_id": "fleet-client",
            "redirect_uri": REDIRECT,
            "resource": DB,
        },
    )
    assert r.status_code == 200, r.text
    value: dict[str, Any] = r.json()
    return value


async def refresh(http: httpx2.AsyncClient, token: str, **extra: str) -> httpx2.Response:
    data = {"grant_type": "refresh_token", "refresh_token": token, "client_id": "fleet-client", **extra}
    return await http.post("/oauth/token", data=data)


async def userinfo(http: httpx2.AsyncClient, token: str) -> httpx2.Response:
    return await http.get("/oauth/userinfo", headers={"Authorization": f"Bearer {token}"})


def verify(token: str, jwks: dict[str, Any], audience: str = DB) -> dict[str, Any]:
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWKSet.from_dict(jwks)[kid].key
    return jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=ISSUER)


async def test_discovery_documents(app: Starlette) -> None:
    """Checklist A1, A9, RFC 9207: both metadata documents, exact issuer, S256 only."""
    async with asgi_client(app) as http:
        docs = [
            (await http.get(p)).json()
            for p in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")
        ]
    for doc in docs:
        assert doc["issuer"] == ISSUER
        assert doc["code_challenge_methods_supported"] == ["S256"]
        assert doc["authorization_response_iss_parameter_supported"] is True
        assert doc["client_id_metadata_document_supported"] is True
        assert doc["device_authorization_endpoint"] == f"{ISSUER}/oauth/device/code"
        assert doc["token_endpoint"] == f"{ISSUER}/oauth/token"
        assert {
            "revocation_endpoint",
            "introspection_endpoint",
            "userinfo_endpoint",
            "jwks_uri",
        } <= doc.keys()
        assert set(doc["grant_types_supported"]) == {
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code",
        }
        assert "offline_access" not in doc["scopes_supported"]
        assert "off:read" not in doc["scopes_supported"]


async def test_cimd_not_advertised_when_disabled(tmp_path: pathlib.Path) -> None:
    """Checklist A9."""
    manifest = sample_manifest(SAMPLE_TOML.replace("access_token_ttl_seconds = 300", "cimd_enabled = false"))
    app = build_auth_server(manifest, state_dir=seeded(tmp_path))
    async with asgi_client(app) as http:
        doc = (await http.get("/.well-known/oauth-authorization-server")).json()
        _, challenge = pkce_pair()
        q = urlencode(
            {
                "client_id": "https://client.example/meta.json",
                "redirect_uri": "https://client.example/cb",
                "response_type": "code",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "resource": DB,
            }
        )
        r = await http.get(f"/oauth/authorize?{q}")
    assert "client_id_metadata_document_supported" not in doc
    assert r.status_code == 400


def test_non_loopback_http_issuer_is_refused(tmp_path: pathlib.Path) -> None:
    """Checklist A16: the AS is https, or plain http on loopback only."""
    manifest = manifest_with_issuer(sample_manifest(), "http://auth.example.com")
    with pytest.raises(ValueError, match="must be https"):
        build_auth_server(manifest, state_dir=seeded(tmp_path))


async def test_access_token_verifies_against_jwks_with_authgate_claims(app: Starlette) -> None:
    """Checklist A6, A8: RS256 + kid, AuthGate claims, aud = resource, short TTL."""
    async with asgi_client(app) as http:
        tokens = await user_tokens(http)
        jwks = (await http.get("/.well-known/jwks.json")).json()
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "RS256"
    assert header["kid"] in {k["kid"] for k in jwks["keys"]}
    claims = verify(tokens["access_token"], jwks)
    assert claims["iss"] == ISSUER
    assert claims["sub"] == dev_subject("alice")  # AuthGate: a UUID, never the name
    assert claims["extra_uid"] == "alice"
    assert claims["user_id"] == dev_subject("alice")
    assert claims["client_id"] == "fleet-client"
    assert claims["scope"] == "db:read db:write"
    assert claims["type"] == "access"
    assert claims["aud"] == DB
    assert claims["jti"]
    assert 0 < claims["exp"] - claims["iat"] <= 600
    assert all("d" not in k and "p" not in k for k in jwks["keys"])  # public halves only


async def test_refresh_token_is_typed_and_never_audienced_to_a_resource(app: Starlette) -> None:
    """Checklist A7."""
    async with asgi_client(app) as http:
        tokens = await user_tokens(http)
        jwks = (await http.get("/.well-known/jwks.json")).json()
    claims = verify(tokens["refresh_token"], jwks, audience=ISSUER)
    assert claims["type"] == "refresh"
    assert claims["aud"] == ISSUER


async def test_refresh_rotates(app: Starlette) -> None:
    async with asgi_client(app) as http:
        tokens = await user_tokens(http)
        r = await refresh(http, tokens["refresh_token"])
        assert r.status_code == 200
        rotated = r.json()
        assert rotated["refresh_token"] != tokens["refresh_token"]
        assert (await userinfo(http, rotated["access_token"])).status_code == 200
        assert (await refresh(http, rotated["refresh_token"])).status_code == 200


async def test_refresh_reuse_revokes_the_family(app: Starlette) -> None:
    """Checklist A7 / RFC 9700 §4.14.2: a replayed refresh token revokes the whole grant."""
    async with asgi_client(app) as http:
        tokens = await user_tokens(http)
        rotated = (await refresh(http, tokens["refresh_token"])).json()
        replay = await refresh(http, tokens["refresh_token"])
        assert replay.status_code == 400
        assert replay.json()["error"] == "invalid_grant"
        assert (await refresh(http, rotated["refresh_token"])).json()["error"] == "invalid_grant"
        assert (await userinfo(http, rotated["access_token"])).status_code == 401
        assert (await userinfo(http, tokens["access_token"])).status_code == 401


async def test_refresh_may_narrow_but_not_widen_scope(app: Starlette) -> None:
    async with asgi_client(app) as http:
        tokens = await user_tokens(http, scope="db:read")
        wider = await refresh(http, tokens["refresh_token"], scope="db:read db:write")
        assert wider.json()["error"] == "invalid_scope"
        narrow = await user_tokens(http)
        r = await refresh(http, narrow["refresh_token"], scope="db:read")
    assert r.json()["scope"] == "db:read"


async def test_refresh_cannot_switch_resource(app: Starlette) -> None:
    """Checklist A5: widening the resource on refresh → 400 invalid_target."""
    async with asgi_client(app) as http:
        tokens = await user_tokens(http)
        other = await refresh(http, tokens["refresh_token"], resource=GITEA)
        bogus = await refresh(http, tokens["refresh_token"], resource="urn:x")
        same = await refresh(http, tokens["refresh_token"], resource=DB)
    assert other.status_code == 400
    assert other.json()["error"] == "invalid_target"
    assert bogus.json()["error"] == "invalid_target"
    assert same.status_code == 200


async def test_refresh_token_is_not_an_access_token_and_vice_versa(app: Starlette) -> None:
    async with asgi_client(app) as http:
        tokens = await user_tokens(http)
        assert (await userinfo(http, tokens["refresh_token"])).status_code == 401
        r = await refresh(http, tokens["access_token"])
    assert r.json()["error"] == "invalid_grant"


async def test_refresh_by_another_client_is_refused(app: Starlette) -> None:
    async with asgi_client(app) as http:
        tokens = await user_tokens(http)
        r = await http.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": "web-app",
            },
        )
    assert r.json()["error"] in ("invalid_grant", "unauthorized_client")


async def test_expired_access_token_is_rejected(app: Starlette, clock: Clock) -> None:
    async with asgi_client(app) as http:
        tokens = await user_tokens(http)
        clock.now += 301
        assert (await userinfo(http, tokens["access_token"])).status_code == 401


async def test_client_credentials(app: Starlette) -> None:
    async with asgi_client(app) as http:
        r = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "resource": GITEA, "scope": "gitea:read"},
            auth=("ci-bot", CI_SECRET),
        )
        jwks = (await http.get("/.well-known/jwks.json")).json()
    assert r.status_code == 200, r.text
    body = r.json()
    assert "refresh_token" not in body
    claims = verify(body["access_token"], jwks, audience=GITEA)
    assert claims["sub"] == "client:ci-bot"
    assert claims["client_id"] == "ci-bot"
    assert claims["scope"] == "gitea:read"


async def test_client_credentials_post_auth_and_scope_limits(app: Starlette) -> None:
    async with asgi_client(app) as http:
        base = {"grant_type": "client_credentials", "client_id": "ci-bot", "client_secret": CI_SECRET}
        default = await http.post("/oauth/token", data={**base, "resource": DB})
        write = await http.post("/oauth/token", data={**base, "resource": GITEA, "scope": "gitea:write"})
        foreign = await http.post("/oauth/token", data={**base, "resource": GITEA, "scope": "db:read"})
        unlisted = await http.post("/oauth/token", data={**base, "resource": "http://127.0.0.1:8700/mcp/x"})
    assert default.json()["scope"] == "db:read"
    assert write.json()["error"] == "invalid_scope"
    assert foreign.json()["error"] == "invalid_scope"
    assert unlisted.json()["error"] == "invalid_target"


async def test_client_credentials_needs_the_secret(app: Starlette) -> None:
    async with asgi_client(app) as http:
        data = {"grant_type": "client_credentials", "resource": DB}
        wrong = await http.post("/oauth/token", data=data, auth=("ci-bot", "guess"))
        missing = await http.post("/oauth/token", data={**data, "client_id": "ci-bot"})
        public = await http.post("/oauth/token", data={**data, "client_id": "fleet-client"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert "basic" in wrong.headers["www-authenticate"].lower()
    assert missing.status_code == 401
    assert public.json()["error"] == "unauthorized_client"


async def test_confidential_client_without_configured_secret_cannot_authenticate(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLEET_TEST_CI_BOT_SECRET", raising=False)
    app = build_auth_server(sample_manifest(), state_dir=seeded(tmp_path))
    async with asgi_client(app) as http:
        r = await http.post(
            "/oauth/token", data={"grant_type": "client_credentials", "resource": DB}, auth=("ci-bot", "")
        )
    assert r.status_code == 401


async def test_token_endpoint_rejects_bad_requests(app: Starlette) -> None:
    async with asgi_client(app) as http:
        unknown = await http.post(
            "/oauth/token", data={"grant_type": "password", "client_id": "fleet-client"}
        )
        json_body = await http.post("/oauth/token", json={"grant_type": "client_credentials"})
        get = await http.get("/oauth/token")
    assert unknown.json()["error"] == "unsupported_grant_type"
    assert json_body.json()["error"] == "invalid_request"
    assert get.status_code == 405


async def test_revoke_refresh_token_revokes_the_grant(app: Starlette) -> None:
    async with asgi_client(app) as http:
        tokens = await user_tokens(http)
        r = await http.post(
            "/oauth/revoke", data={"token": tokens["refresh_token"], "client_id": "fleet-client"}
        )
        assert r.status_code == 200
        assert (await refresh(http, tokens["refresh_token"])).json()["error"] == "invalid_grant"
        assert (await userinfo(http, tokens["access_token"])).status_code == 401


async def test_revoke_access_token_and_unknown_tokens(app: Starlette) -> None:
    async with asgi_client(app) as http:
        tokens = await user_tokens(http)
        junk = await http.post("/oauth/revoke", data={"token": "junk", "client_id": "fleet-client"})
        other = await http.post(
            "/oauth/revoke", data={"token": tokens["access_token"], "client_id": "web-app"}
        )
        assert (await userinfo(http, tokens["access_token"])).status_code == 200  # not web-app's token
        mine = await http.post(
            "/oauth/revoke", data={"token": tokens["access_token"], "client_id": "fleet-client"}
        )
        assert (await userinfo(http, tokens["access_token"])).status_code == 401
    assert junk.status_code == 200
    assert other.status_code == 200
    assert mine.status_code == 200


async def test_introspection(app: Starlette) -> None:
    async with asgi_client(app) as http:
        tokens = await user_tokens(http)
        auth = ("ci-bot", CI_SECRET)
        active = (
            await http.post("/oauth/introspect", data={"token": tokens["access_token"]}, auth=auth)
        ).json()
        junk = (await http.post("/oauth/introspect", data={"token": "junk"}, auth=auth)).json()
        public = await http.post(
            "/oauth/introspect", data={"token": tokens["access_token"], "client_id": "fleet-client"}
        )
        await refresh(http, tokens["refresh_token"])
        used = (
            await http.post("/oauth/introspect", data={"token": tokens["refresh_token"]}, auth=auth)
        ).json()
    assert active["active"] is True
    assert active["sub"] == dev_subject("alice")  # AuthGate: a UUID, never the name
    assert active["extra_uid"] == "alice"
    assert active["aud"] == DB
    assert active["scope"] == "db:read db:write"
    assert junk == {"active": False}
    assert public.status_code == 401
    assert used == {"active": False}


async def test_userinfo(app: Starlette) -> None:
    async with asgi_client(app) as http:
        tokens = await user_tokens(http, user="bob", scope="db:read")
        me = (await userinfo(http, tokens["access_token"])).json()
        none = await http.get("/oauth/userinfo")
    assert me["sub"] == dev_subject("bob")  # AuthGate: a UUID, never the name
    assert me["preferred_username"] == "bob"
    assert me["teams"] == ["payments"]
    assert none.status_code == 401
    assert 'error="invalid_token"' in none.headers["www-authenticate"]


async def test_key_rotation_keeps_two_keys_and_old_tokens_valid(app: Starlette) -> None:
    async with asgi_client(app) as http:
        old = await user_tokens(http)
        old_kid = jwt.get_unverified_header(old["access_token"])["kid"]
        new_kid = app.state.ctx.keys.rotate()
        jwks = (await http.get("/.well-known/jwks.json")).json()
        assert {k["kid"] for k in jwks["keys"]} == {old_kid, new_kid}
        new = await user_tokens(http)
        assert jwt.get_unverified_header(new["access_token"])["kid"] == new_kid
        verify(old["access_token"], jwks)
        verify(new["access_token"], jwks)
        app.state.ctx.keys.retire_old()
        jwks = (await http.get("/.well-known/jwks.json")).json()
        assert [k["kid"] for k in jwks["keys"]] == [new_kid]
        assert (await userinfo(http, old["access_token"])).status_code == 401


async def test_state_survives_a_restart(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same SQLite file: keys, grants and browser sessions survive."""
    first = build_auth_server(sample_manifest(), state_dir=tmp_path)  # its own key, not the seeded one
    async with asgi_client(first) as http:
        tokens = await user_tokens(http)
        jwks_before = (await http.get("/.well-known/jwks.json")).json()
        cookies = dict(http.cookies)
    second = build_auth_server(sample_manifest(), state_dir=tmp_path)
    async with asgi_client(second) as http:
        assert (await http.get("/.well-known/jwks.json")).json() == jwks_before
        assert (await userinfo(http, tokens["access_token"])).status_code == 200
        assert (await refresh(http, tokens["refresh_token"])).status_code == 200
        http.cookies.update(cookies)
        _, challenge = pkce_pair()
        q = urlencode(
            {
                "client_id": "fleet-client",
                "redirect_uri": REDIRECT,
                "response_type": "code",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "resource": DB,
            }
        )
        page = await http.get(f"/oauth/authorize?{q}")
    assert "Signed in as <b>alice</b>" in page.text  # still signed in: straight to consent


async def test_rotation_never_extends_the_grant_lifetime(app: Starlette, clock: Clock) -> None:
    async with asgi_client(app) as http:
        tokens = await user_tokens(http)
        first_exp = jwt.decode(tokens["refresh_token"], options={"verify_signature": False})["exp"]
        clock.now += 20 * 24 * 3600
        rotated = (await refresh(http, tokens["refresh_token"])).json()
    assert jwt.decode(rotated["refresh_token"], options={"verify_signature": False})["exp"] <= first_exp


async def test_cors_for_browser_clients_only_on_public_endpoints(app: Starlette) -> None:
    preflight = {"Origin": "https://inspector.example", "Access-Control-Request-Method": "POST"}
    async with asgi_client(app) as http:
        token = await http.options("/oauth/token", headers=preflight)
        meta = await http.get(
            "/.well-known/oauth-authorization-server", headers={"Origin": "https://x.example"}
        )
        page = await http.get("/device", headers={"Origin": "https://x.example"})
        dev = await http.options("/dev/token", headers=preflight)
    assert token.status_code == 200
    assert token.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in token.headers
    assert meta.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-origin" not in page.headers
    assert "access-control-allow-origin" not in dev.headers
