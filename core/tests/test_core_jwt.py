"""Trust mode `jwt`: the server verifies the bearer itself (DESIGN §3.1)."""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx2
import jwt
import pytest
from mcp.server.mcpserver import MCPServer

from fleet_core import TrustMode
from fleet_core.testing import MCP_HEADERS, JwtIssuer, call_body, identity_headers, serve_server, settings_for
from fleet_core.testing import identity as make_identity

RESOURCE = "http://127.0.0.1:8700/mcp/test"
CHALLENGE = (
    'Bearer error="invalid_token", '
    'resource_metadata="http://127.0.0.1:8700/.well-known/oauth-protected-resource/mcp/test"'
)


async def call(
    server: MCPServer, issuer: JwtIssuer, headers: dict[str, str], *, path: str = "", **settings: Any
) -> httpx2.Response:
    config = settings_for(name="test", trust_mode=TrustMode.JWT, issuer=issuer.url, **settings)
    with anyio.fail_after(15):
        async with serve_server(server, config) as url, httpx2.AsyncClient() as http:
            return await http.post(
                url + path, json=call_body("echo", {"text": "hi"}), headers=MCP_HEADERS | headers
            )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_refused(response: httpx2.Response, ran: list[str]) -> None:
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "missing or invalid credentials",
    }
    assert response.headers["www-authenticate"] == CHALLENGE
    assert ran == []


async def test_valid_token_reaches_the_tool_with_its_claims(server: MCPServer, ran: list[str]) -> None:
    async with JwtIssuer() as issuer:
        token = issuer.mint(RESOURCE, scope="test:read", sub="alice")
        response = await call(server, issuer, bearer(token))
    assert response.status_code == 200, response.text
    assert ran == ["echo"]


async def test_es256_tokens_are_accepted(server: MCPServer, ran: list[str]) -> None:
    async with JwtIssuer(algorithm="ES256") as issuer:
        response = await call(server, issuer, bearer(issuer.mint(RESOURCE, scope="test:read")))
    assert response.status_code == 200
    assert ran == ["echo"]


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"exp": int(time.time()) - 120}, "expired beyond leeway"),
        ({"aud": "http://127.0.0.1:8700/mcp/other"}, "wrong audience"),
        ({"aud": None}, "no audience"),
        ({"iss": "http://127.0.0.1:1/other"}, "wrong issuer"),
        ({"type": "refresh"}, "refresh token used as bearer"),
        ({"type": None}, "no token type"),
        ({"nbf": int(time.time()) + 86_400}, "not yet valid"),  # collected long before it runs
        ({"sub": None}, "no subject"),
        ({"sub": "alice\nX-MCP-Subject: admin"}, "control character in claim"),
    ],
)
async def test_bad_token_is_refused(
    server: MCPServer, ran: list[str], claims: dict[str, Any], why: str
) -> None:
    async with JwtIssuer() as issuer:
        token = issuer.mint(RESOURCE, scope="test:read", **claims)
        assert_refused(await call(server, issuer, bearer(token)), ran)


async def test_expiry_within_leeway_is_accepted(server: MCPServer, ran: list[str]) -> None:
    async with JwtIssuer() as issuer:
        token = issuer.mint(RESOURCE, scope="test:read", exp=int(time.time()) - 5)
        response = await call(server, issuer, bearer(token))
    assert response.status_code == 200
    assert ran == ["echo"]


async def test_hs256_forged_with_the_public_key_is_refused(server: MCPServer, ran: list[str]) -> None:
    async with JwtIssuer() as issuer:
        public_pem = (
            issuer.keys[issuer.kid]
            .public_key()
            .public_bytes(
                encoding=__import__(
                    "cryptography.hazmat.primitives.serialization"
                ).hazmat.primitives.serialization.Encoding.PEM,
                format=__import__(
                    "cryptography.hazmat.primitives.serialization"
                ).hazmat.primitives.serialization.PublicFormat.SubjectPublicKeyInfo,
            )
        )
        forged = _sign_hs256(issuer.claims(RESOURCE, scope="test:read"), public_pem, issuer.kid)
        requests_before = issuer.jwks_requests
        assert_refused(await call(server, issuer, bearer(forged)), ran)
        assert issuer.jwks_requests == requests_before  # refused on the algorithm alone


async def test_alg_none_is_refused(server: MCPServer, ran: list[str]) -> None:
    async with JwtIssuer() as issuer:
        unsigned = jwt.encode(
            issuer.claims(RESOURCE, scope="test:read"), "", algorithm="none", headers={"kid": issuer.kid}
        )
        assert_refused(await call(server, issuer, bearer(unsigned)), ran)


async def test_token_signed_by_a_foreign_key_is_refused(server: MCPServer, ran: list[str]) -> None:
    async with JwtIssuer() as issuer, JwtIssuer() as stranger:
        forged = stranger.mint(RESOURCE, scope="test:read", iss=issuer.url, kid=stranger.kid)
        assert_refused(await call(server, issuer, bearer(forged)), ran)


async def test_foreign_key_with_a_known_kid_is_refused(server: MCPServer, ran: list[str]) -> None:
    async with JwtIssuer() as issuer, JwtIssuer() as stranger:
        stranger.keys[issuer.kid] = stranger.keys[stranger.kid]  # attacker reuses the real kid
        forged = stranger.mint(RESOURCE, scope="test:read", iss=issuer.url, kid=issuer.kid)
        assert_refused(await call(server, issuer, bearer(forged)), ran)


async def test_spoofed_subject_header_with_a_valid_token_is_refused(
    server: MCPServer, ran: list[str]
) -> None:
    async with JwtIssuer() as issuer:
        token = issuer.mint(RESOURCE, scope="test:read", sub="alice")
        assert_refused(await call(server, issuer, bearer(token) | {"X-MCP-Subject": "admin"}), ran)


async def test_headers_that_agree_with_the_token_are_accepted(server: MCPServer, ran: list[str]) -> None:
    async with JwtIssuer() as issuer:
        token = issuer.mint(RESOURCE, scope="test:read", sub="alice", client_id="fleet-client")
        headers = bearer(token) | {"X-MCP-Subject": "alice", "X-MCP-Client": "fleet-client"}
        response = await call(server, issuer, headers)
    assert response.status_code == 200
    assert ran == ["echo"]


async def test_gateway_headers_alone_are_not_enough_in_jwt_mode(server: MCPServer, ran: list[str]) -> None:
    async with JwtIssuer() as issuer:
        who = make_identity("alice", "test:read", audience=RESOURCE, issuer=issuer.url)
        assert_refused(await call(server, issuer, identity_headers(who)), ran)


@pytest.mark.parametrize("scheme", ["Basic YWxpY2U6cHc=", "Bearer", "Token abc", "Bearer not-a-jwt"])
async def test_non_bearer_authorization_is_refused(server: MCPServer, ran: list[str], scheme: str) -> None:
    async with JwtIssuer() as issuer:
        assert_refused(await call(server, issuer, {"Authorization": scheme}), ran)


async def test_token_in_query_string_is_refused(server: MCPServer, ran: list[str]) -> None:
    async with JwtIssuer() as issuer:
        token = issuer.mint(RESOURCE, scope="test:read")
        response = await call(server, issuer, bearer(token), path=f"?access_token={token}")
        assert_refused(response, ran)


async def test_jwks_outage_answers_503_not_401(
    server: MCPServer, ran: list[str], audit_lines: list[dict[str, Any]]
) -> None:
    async with JwtIssuer() as issuer:
        token = issuer.mint(RESOURCE, scope="test:read")
        issuer.available = False
        response = await call(server, issuer, bearer(token))
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert response.headers["retry-after"] == "5"
    assert ran == []
    assert audit_lines[-1]["status"] == 503


async def test_rotated_key_is_fetched_once_and_unknown_kids_are_rate_limited(
    server: MCPServer, ran: list[str]
) -> None:
    async with JwtIssuer() as issuer:
        config = settings_for(
            name="test", trust_mode=TrustMode.JWT, issuer=issuer.url, jwks_refetch_seconds=60
        )
        async with serve_server(server, config) as url, httpx2.AsyncClient() as http:

            async def send(token: str) -> int:
                response = await http.post(
                    url, json=call_body("echo", {"text": "x"}), headers=MCP_HEADERS | bearer(token)
                )
                return response.status_code

            with anyio.fail_after(15):
                assert await send(issuer.mint(RESOURCE, scope="test:read")) == 200
                fetched = issuer.jwks_requests
                new_kid = issuer.add_key()  # rotation: the cache hasn't seen this key yet
                assert (
                    await send(issuer.mint(RESOURCE, scope="test:read", kid=new_kid)) == 401
                )  # within interval
                assert issuer.jwks_requests == fetched
                bogus = issuer.mint(RESOURCE, scope="test:read", headers={"kid": "random-kid"})
                for _ in range(5):
                    assert await send(bogus) == 401
                assert issuer.jwks_requests == fetched  # random kids can't make us hammer the issuer


async def test_rotated_key_is_accepted_after_refetch(server: MCPServer, ran: list[str]) -> None:
    async with JwtIssuer() as issuer:
        config = settings_for(
            name="test", trust_mode=TrustMode.JWT, issuer=issuer.url, jwks_refetch_seconds=0
        )
        async with serve_server(server, config) as url, httpx2.AsyncClient() as http:
            with anyio.fail_after(15):
                first = await http.post(
                    url,
                    json=call_body("echo", {"text": "x"}),
                    headers=MCP_HEADERS | bearer(issuer.mint(RESOURCE, scope="test:read")),
                )
                new_kid = issuer.add_key()
                second = await http.post(
                    url,
                    json=call_body("echo", {"text": "x"}),
                    headers=MCP_HEADERS | bearer(issuer.mint(RESOURCE, scope="test:read", kid=new_kid)),
                )
    assert (first.status_code, second.status_code) == (200, 200)
    assert ran == ["echo", "echo"]


def _sign_hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """Key-confusion forgery: HMAC keyed with the RSA public key (PyJWT refuses to, so by hand)."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    signing_input = (
        b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
        + b"."
        + b64(json.dumps(claims).encode())
    )
    return (signing_input + b"." + b64(hmac.new(secret, signing_input, hashlib.sha256).digest())).decode()


async def test_a_jwks_outage_is_not_refetched_on_every_request(server: MCPServer, ran: list[str]) -> None:
    async with JwtIssuer() as issuer:
        config = settings_for(name="test", trust_mode=TrustMode.JWT, issuer=issuer.url)
        issuer.available = False
        async with serve_server(server, config) as url, httpx2.AsyncClient() as http:
            with anyio.fail_after(15):
                statuses = [
                    (
                        await http.post(
                            url,
                            json=call_body("echo", {"text": "x"}),
                            headers=MCP_HEADERS
                            | bearer(issuer.mint(RESOURCE, scope="test:read", headers={"kid": f"kid-{n}"})),
                        )
                    ).status_code
                    for n in range(20)
                ]
    assert set(statuses) == {503}  # still "try later", never "your token is bad" (G12)
    assert issuer.metadata_requests + issuer.jwks_requests == 1
    assert ran == []


@pytest.mark.parametrize("query", ["?access%5Ftoken=x", "?jwt=x", "?Token=x", "?a=1&id_token=x"])
async def test_any_spelling_of_a_query_string_token_is_refused(
    server: MCPServer, ran: list[str], query: str
) -> None:
    async with JwtIssuer() as issuer:
        token = issuer.mint(RESOURCE, scope="test:read")
        assert_refused(await call(server, issuer, bearer(token), path=query), ran)


async def test_the_gateway_secret_is_a_second_lock_in_jwt_mode(server: MCPServer, ran: list[str]) -> None:
    """Production topology: a valid token alone is not enough when the server has a gateway secret;
    a token that reached another server's gateway route (another secret) is refused too."""
    secret = "db-only-secret-0123456789"
    async with JwtIssuer() as issuer:
        token = issuer.mint(RESOURCE, scope="test:read")
        without = await call(server, issuer, bearer(token), gateway_secrets=[secret])
        wrong = await call(
            server,
            issuer,
            bearer(token) | {"X-MCP-Gateway-Secret": "another-servers-secret-0123"},
            gateway_secrets=[secret],
        )
        assert ran == []
        good = await call(
            server, issuer, bearer(token) | {"X-MCP-Gateway-Secret": secret}, gateway_secrets=[secret]
        )
    assert_refused(without, [])
    assert_refused(wrong, [])
    assert good.status_code == 200, good.text
    assert ran == ["echo"]


async def test_jwks_url_overrides_discovery_when_the_issuer_is_unreachable(
    server: MCPServer, ran: list[str]
) -> None:
    """Inside compose the issuer's public URL is not reachable from a server: it fetches the keys from
    AuthGate's internal address, while `iss` must still be the public URL."""
    public = "https://auth.example.com"
    async with JwtIssuer() as issuer:
        token = issuer.mint(RESOURCE, scope="test:read", iss=public)
        config = settings_for(
            name="test", trust_mode=TrustMode.JWT, issuer=public, jwks_url=f"{issuer.url}/jwks"
        )
        with anyio.fail_after(15):
            async with serve_server(server, config) as url, httpx2.AsyncClient() as http:
                response = await http.post(
                    url, json=call_body("echo", {"text": "hi"}), headers=MCP_HEADERS | bearer(token)
                )
        assert (issuer.metadata_requests, issuer.jwks_requests) == (0, 1)
    assert response.status_code == 200, response.text
    assert ran == ["echo"]
