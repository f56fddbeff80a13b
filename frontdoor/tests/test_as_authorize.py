"""Dev authorization server: /oauth/authorize, login, consent, code exchange (checklist A2-A5, A13, P2)."""

import pathlib
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
import httpx2
import pytest
from starlette.applications import Starlette

from fleet_frontdoor.authserver import build_auth_server
from fleet_frontdoor.authserver.browser import approve_in_browser, form_fields
from fleet_frontdoor.authserver.testing import (
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


@pytest.fixture
def app(tmp_path: pathlib.Path) -> Starlette:
    return build_auth_server(sample_manifest(), state_dir=seeded(tmp_path))


def auth_url(challenge: str, **overrides: str | None) -> str:
    params = {
        "response_type": "code",
        "client_id": "fleet-client",
        "redirect_uri": REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": DB,
        "scope": "db:read",
        "state": "st-1",
        **overrides,
    }
    return f"{ISSUER}/oauth/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def exchange(http: httpx2.AsyncClient, code: str, verifier: str, **extra: str) -> httpx2.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "client_id": "fleet-client",
        "redirect_uri": REDIRECT,
        **extra,
    }
    return await http.post("/oauth/token", data=data)


async def login_code(
    http: httpx2.AsyncClient, user: str = "alice", **overrides: str | None
) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    location = await approve_in_browser(auth_url(challenge, **overrides), user=user, http=http)
    got = query(location)
    assert location.startswith(REDIRECT + "?")
    assert got["iss"] == ISSUER
    assert got["state"] == "st-1"
    return got["code"], verifier


async def test_code_flow_issues_tokens(app: Starlette) -> None:
    with anyio.fail_after(10):
        async with asgi_client(app) as http:
            code, verifier = await login_code(http)
            r = await exchange(http, code, verifier, resource=DB)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "db:read"
    assert body["refresh_token"]
    assert body["expires_in"] == 300
    assert r.headers["cache-control"] == "no-store"


async def test_pkce_plain_is_refused_with_iss_and_state(app: Starlette) -> None:
    verifier, _ = pkce_pair()
    async with asgi_client(app) as http:
        r = await http.get(auth_url(verifier, code_challenge_method="plain"))
    assert r.status_code == 303
    got = query(r.headers["location"])
    assert got["error"] == "invalid_request"
    assert "S256" in got["error_description"]
    assert got["iss"] == ISSUER
    assert got["state"] == "st-1"


@pytest.mark.parametrize("overrides", [{"code_challenge": None}, {"code_challenge_method": None}])
async def test_missing_pkce_is_invalid_request(app: Starlette, overrides: dict[str, Any]) -> None:
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        r = await http.get(auth_url(challenge, **overrides))
    assert query(r.headers["location"])["error"] == "invalid_request"


async def test_wrong_verifier_is_invalid_grant(app: Starlette) -> None:
    async with asgi_client(app) as http:
        code, _ = await login_code(http)
        r = await exchange(http, code, pkce_pair()[0])
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


async def test_token_request_without_verifier_is_invalid_request(app: Starlette) -> None:
    async with asgi_client(app) as http:
        code, _ = await login_code(http)
        r = await exchange(http, code, "")
    assert r.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "redirect",
    [
        "http://127.0.0.1:5555/callback/",
        "http://127.0.0.1:5555/Callback",
        "http://127.0.0.1:5555/callback?x=1",
        "http://127.0.0.1:5555/callback#frag",
        "https://127.0.0.1:5555/callback",
        "http://localhost:5555/callback",
        "http://127.0.0.1.evil.example/callback",
        "http://127.0.0.1:5555@evil.example/callback",
        "http://evil.example/callback",
        "javascript:alert(1)",
    ],
)
async def test_redirect_uri_variants_get_no_redirect(app: Starlette, redirect: str) -> None:
    """Checklist A3: an unregistered redirect URI is shown an error page, never redirected to."""
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        r = await http.get(auth_url(challenge, redirect_uri=redirect))
    assert r.status_code == 400
    assert "location" not in r.headers
    assert "redirect_uri is not registered" in r.text


async def test_exact_match_for_non_loopback_redirects(app: Starlette) -> None:
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        ok = await http.get(
            auth_url(challenge, client_id="web-app", redirect_uri="https://app.example.com/cb")
        )
        port = await http.get(
            auth_url(challenge, client_id="web-app", redirect_uri="https://app.example.com:444/cb")
        )
    assert ok.status_code == 200
    assert "Sign in" in ok.text
    assert port.status_code == 400
    assert "location" not in port.headers


async def test_unknown_client_gets_no_redirect(app: Starlette) -> None:
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        r = await http.get(auth_url(challenge, client_id="nobody"))
    assert r.status_code == 400
    assert "location" not in r.headers


@pytest.mark.parametrize(
    "resource",
    [
        "http://127.0.0.1:8700/mcp/other",  # not in the manifest
        "http://127.0.0.1:8700/mcp/off",  # a disabled server
        "http://127.0.0.1:8700/mcp/db/",  # trailing slash: not byte-equal
        "http://127.0.0.1:8700/mcp/db#x",  # fragment
        "urn:example:db",  # not a URL
        "/mcp/db",  # no host
        None,  # missing
    ],
)
async def test_resource_must_be_an_allowlisted_url(app: Starlette, resource: str | None) -> None:
    """Checklist A4: malformed or unlisted resource → invalid_target (with iss and state)."""
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        r = await http.get(auth_url(challenge, resource=resource))
    got = query(r.headers["location"])
    assert got["error"] == "invalid_target"
    assert got["iss"] == ISSUER
    assert got["state"] == "st-1"


async def test_two_resources_are_refused(app: Starlette) -> None:
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        r = await http.get(auth_url(challenge) + "&" + urlencode({"resource": GITEA}))
    assert query(r.headers["location"])["error"] == "invalid_target"


async def test_scope_of_another_server_is_invalid_scope(app: Starlette) -> None:
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        r = await http.get(auth_url(challenge, scope="db:read gitea:write"))
    assert query(r.headers["location"])["error"] == "invalid_scope"


async def test_unsupported_response_type(app: Starlette) -> None:
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        r = await http.get(auth_url(challenge, response_type="token"))
    got = query(r.headers["location"])
    assert got["error"] == "unsupported_response_type"
    assert got["iss"] == ISSUER


async def test_repeated_parameter_is_invalid_request(app: Starlette) -> None:
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        r = await http.get(auth_url(challenge) + "&scope=db:write")
    assert query(r.headers["location"])["error"] == "invalid_request"


async def test_scopes_are_limited_to_what_the_user_holds(app: Starlette) -> None:
    async with asgi_client(app) as http:
        code, verifier = await login_code(http, user="bob", scope="db:read db:write")
        r = await exchange(http, code, verifier)
    assert r.json()["scope"] == "db:read"


async def test_user_without_any_requested_scope_is_denied(app: Starlette) -> None:
    _verifier, challenge = pkce_pair()
    async with asgi_client(app) as http:
        location = await approve_in_browser(auth_url(challenge, scope="db:write"), user="bob", http=http)
    got = query(location)
    assert got["error"] == "access_denied"
    assert got["iss"] == ISSUER
    assert got["state"] == "st-1"


async def test_deny_sends_access_denied_with_iss(app: Starlette) -> None:
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        location = await approve_in_browser(auth_url(challenge), decision="deny", http=http)
    assert query(location) == {"error": "access_denied", "state": "st-1", "iss": ISSUER}


async def test_code_is_single_use_and_replay_revokes_its_tokens(app: Starlette) -> None:
    async with asgi_client(app) as http:
        code, verifier = await login_code(http)
        first = (await exchange(http, code, verifier)).json()
        again = await exchange(http, code, verifier)
        assert again.json()["error"] == "invalid_grant"
        me = await http.get("/oauth/userinfo", headers={"Authorization": f"Bearer {first['access_token']}"})
        refreshed = await http.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": first["refresh_token"],
                "client_id": "fleet-client",
            },
        )
    assert me.status_code == 401
    assert refreshed.json()["error"] == "invalid_grant"


async def test_token_redirect_uri_must_match_authorize(app: Starlette) -> None:
    async with asgi_client(app) as http:
        code, verifier = await login_code(http)
        r = await exchange(http, code, verifier, redirect_uri="http://127.0.0.1:5556/callback")
    assert r.json()["error"] == "invalid_grant"


async def test_token_time_resource_must_be_the_authorized_one(app: Starlette) -> None:
    """Checklist A5: token-time resource ⊆ authorize-time resource."""
    async with asgi_client(app) as http:
        code, verifier = await login_code(http)
        r = await exchange(http, code, verifier, resource=GITEA)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_target"


async def test_code_from_another_client_is_refused(app: Starlette) -> None:
    async with asgi_client(app) as http:
        code, verifier = await login_code(http)
        r = await exchange(http, code, verifier, client_id="web-app")
    assert r.json()["error"] in ("invalid_grant", "unauthorized_client")


async def test_consent_page_shows_hosts_scopes_resource_and_cannot_be_framed(app: Starlette) -> None:
    """Checklist A13 / P2: the consent page names the redirect host, scopes and resource."""
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        login = await http.get(auth_url(challenge, scope="db:read db:write"))
        action, fields = form_fields(login.text)
        consent = await http.post(action, data={**fields, "user": "alice"})
    assert consent.status_code == 200
    page = consent.text
    assert "127.0.0.1" in page
    assert "fleet-client" in page
    assert DB in page
    assert "db:read" in page
    assert "db:write" in page
    assert "this computer" in page  # localhost redirect warning
    for r in (login, consent):
        assert r.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["cache-control"] == "no-store"


async def test_pages_escape_what_the_client_sent(app: Starlette) -> None:
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        r = await http.get(auth_url(challenge, state='"><script>alert(1)</script>'))
        action, fields = form_fields(r.text)
        consent = await http.post(action, data={**fields, "user": "alice"})
    assert "<script>" not in r.text
    assert "<script>" not in consent.text


async def test_login_without_csrf_token_is_refused(app: Starlette) -> None:
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        page = await http.get(auth_url(challenge))
        _, fields = form_fields(page.text)
        forged = await http.post("/oauth/login", data={"pending": fields["pending"], "user": "alice"})
        wrong = await http.post("/oauth/login", data={**fields, "csrf": "guess", "user": "alice"})
    assert forged.status_code == 403
    assert wrong.status_code == 403


async def test_consent_csrf_from_another_browser_is_refused(app: Starlette) -> None:
    """An attacker starts a request in their browser and makes the victim's browser approve it."""
    _, challenge = pkce_pair()
    async with asgi_client(app) as attacker:
        page = await attacker.get(auth_url(challenge))
        _, attacker_fields = form_fields(page.text)
        transport = attacker._transport
        async with httpx2.AsyncClient(transport=transport, base_url=ISSUER) as victim:
            await approve_in_browser(auth_url(challenge), http=victim)  # victim is signed in
            r = await victim.post("/oauth/consent", data={**attacker_fields, "decision": "approve"})
            assert r.status_code == 403
            # even with the victim's own CSRF token, the attacker's pending request is not theirs
            own = await victim.get(auth_url(challenge))
            _, victim_fields = form_fields(own.text)
            r = await victim.post(
                "/oauth/consent",
                data={
                    "csrf": victim_fields["csrf"],
                    "pending": attacker_fields["pending"],
                    "decision": "approve",
                },
            )
    assert r.status_code == 400
    assert "location" not in r.headers


async def test_signed_in_browser_goes_straight_to_consent_and_pending_is_single_use(app: Starlette) -> None:
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        await approve_in_browser(auth_url(challenge), http=http)
        page = await http.get(auth_url(challenge))
        action, fields = form_fields(page.text)
        assert action == "/oauth/consent"
        first = await http.post(action, data={**fields, "decision": "approve"})
        second = await http.post(action, data={**fields, "decision": "approve"})
    assert first.status_code == 303
    assert second.status_code == 400


async def test_password_user_needs_the_password(app: Starlette) -> None:
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        page = await http.get(auth_url(challenge))
        action, fields = form_fields(page.text)
        bad = await http.post(action, data={**fields, "user": "carol", "password": "nope"})
        good = await http.post(action, data={**fields, "user": "carol", "password": "carol-dev-pw"})
    assert bad.status_code == 401
    assert "Allow access" not in bad.text
    assert good.status_code == 200
    assert "Allow access" in good.text


async def test_session_cookie_is_httponly_and_lax(app: Starlette) -> None:
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        r = await http.get(auth_url(challenge))
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


async def test_https_issuer_uses_host_prefixed_secure_cookie(tmp_path: pathlib.Path) -> None:
    """Checklist P2: `__Host-` Secure HttpOnly SameSite=Lax session cookie when served over TLS."""
    manifest = manifest_with_issuer(sample_manifest(), "https://auth.example.com")
    app = build_auth_server(manifest, state_dir=seeded(tmp_path))
    _, challenge = pkce_pair()
    async with asgi_client(app) as http:
        r = await http.get(auth_url(challenge).replace(ISSUER, "https://auth.example.com"))
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Host-fleet_as=")
    assert "Secure" in cookie
    assert "Path=/" in cookie
    assert "Domain" not in cookie
