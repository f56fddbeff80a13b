"""The validation matrix, against the dev gateway with real upstreams over real HTTP.

Rows 1–6b are the kong-mcp-oauth2 README's validation matrix; G*/S* are the security checklist items
that apply to the gateway (and to a fleet_core server behind it). Every test asserts what the client
saw AND what the upstream received — nothing at all when the gateway refuses.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import Field
from starlette.types import Receive, Scope, Send

from fleet_core import WRITE, bind_loopback, build_app, create_server, dev_subject, requires
from fleet_core.jwt import FAILED_FETCH_RETRY
from fleet_core.testing import MCP_HEADERS, JwtIssuer, call_body, free_port, running_app, settings_for
from fleet_frontdoor.gateway import build_gateway, running_gateway
from fleet_frontdoor.manifest import Manifest

SECRET = "gw-secret-for-tests-0123456789abcdef"


@dataclass
class Seen:
    method: str
    path: str
    query: bytes
    headers: list[tuple[bytes, bytes]]
    raw_path: bytes | None = None

    def all(self, name: str) -> list[str]:
        key = name.lower().encode()
        return [v.decode() for k, v in self.headers if k == key]

    def one(self, name: str) -> str | None:
        values = self.all(name)
        assert len(values) <= 1, f"{name} sent {len(values)} times"
        return values[0] if values else None

    def names(self) -> set[str]:
        return {k.decode() for k, _ in self.headers}


def recording(app: Any, seen: list[Seen]) -> Any:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            seen.append(
                Seen(
                    scope["method"],
                    scope["path"],
                    scope["query_string"],
                    list(scope["headers"]),
                    scope.get("raw_path"),
                )
            )
        await app(scope, receive, send)

    return wrapped


class RawUpstream:
    """A plain ASGI upstream for transport behaviour: SSE on demand, body echo, a hang."""

    def __init__(self) -> None:
        self.release = anyio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/mcp/sse":
            start = {"type": "http.response.start", "status": 200}
            await send(start | {"headers": [(b"content-type", b"text/event-stream")]})
            await send({"type": "http.response.body", "body": b"data: one\n\n", "more_body": True})
            await self.release.wait()  # the client must have seen "one" before "two" exists
            await send({"type": "http.response.body", "body": b"data: two\n\n", "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        elif path == "/mcp/body":
            chunks, more = [], True
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            body = b"".join(chunks)
            out = json.dumps({"length": len(body), "sha": hashlib.sha256(body).hexdigest()})
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": out.encode()})
        elif path == "/mcp/hang":  # answers nothing until the caller gives up
            while (await receive())["type"] != "http.disconnect":
                pass
        else:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})


_KEYS: dict[str, Any] = {}


class QuickIssuer(JwtIssuer):
    """A JwtIssuer whose first key pair is made once per session (RSA key generation is the slow part)."""

    def add_key(self) -> str:
        if not self.keys and self.algorithm in _KEYS:
            kid = os.urandom(6).hex()
            self.keys[kid] = _KEYS[self.algorithm]
            return kid
        kid = super().add_key()
        _KEYS.setdefault(self.algorithm, self.keys[kid])
        return kid


@dataclass
class Stack:
    gateway: str
    issuer: JwtIssuer
    manifest: Manifest
    echo: list[Seen] = field(default_factory=list)
    raw: list[Seen] = field(default_factory=list)
    raw_app: RawUpstream = field(default_factory=RawUpstream)

    @property
    def resource(self) -> str:
        return f"{self.gateway}/mcp/echo"

    @property
    def prm(self) -> str:
        return f"{self.gateway}/.well-known/oauth-protected-resource/mcp/echo"

    def token(self, resource: str | None = None, **claims: Any) -> str:
        claims.setdefault("scope", "echo:read")
        return self.issuer.mint(resource or self.resource, **claims)

    def auth(self, token: str | None = None, **claims: Any) -> dict[str, str]:
        return {**MCP_HEADERS, "Authorization": f"Bearer {token or self.token(**claims)}"}


def echo_server() -> Any:
    mcp = create_server("echo")

    @mcp.tool(meta=requires("echo:write"), annotations=WRITE)
    async def write_note(text: Annotated[str, Field(description="text to store")]) -> str:
        """Pretend to store a note (needs echo:write)."""
        return text

    return mcp


@contextlib.asynccontextmanager
async def fleet_stack(
    *, leeway: int = 30, algorithm: str = "RS256", **gateway_options: Any
) -> AsyncIterator[Stack]:
    async with contextlib.AsyncExitStack() as stack:
        # one loopback server plays the issuer (discovery + JWKS), the echo MCP server and the raw
        # upstream, by path; the gateway is the other one
        # sockets bound now, not ports picked now and bound later: a client connection's ephemeral
        # port could take a picked port in between
        gateway_sock, upstream_sock = bind_loopback(), bind_loopback()
        port, upstream_port = gateway_sock.getsockname()[1], upstream_sock.getsockname()[1]
        origin, upstream = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{upstream_port}"
        issuer = QuickIssuer(algorithm=algorithm)
        issuer.url = upstream
        echo: list[Seen] = []
        raw: list[Seen] = []
        raw_app = RawUpstream()
        settings = settings_for(
            name="echo", public_url=f"{origin}/mcp/echo", issuer=issuer.url, gateway_secrets=[SECRET]
        )
        apps = (recording(build_app(echo_server(), settings), echo), recording(raw_app, raw), issuer.app())

        async def upstreams(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "")
            app = (
                apps[1]
                if path.startswith("/mcp/")
                else apps[2]
                if path.startswith(("/.well", "/jwks"))
                else apps[0]
            )
            await app(scope, receive, send)

        assert await stack.enter_async_context(running_app(upstreams, sock=upstream_sock)) == upstream
        echo_url = raw_url = upstream
        manifest = Manifest.model_validate(
            {
                "gateway": {"origin": origin, "leeway_seconds": leeway},
                "issuer": {"url": issuer.url},
                "servers": [
                    {"name": "echo", "upstream": echo_url, "scopes": ["echo:read", "echo:write"]},
                    {"name": "other", "upstream": echo_url, "scopes": ["other:read"]},
                    {"name": "raw", "upstream": raw_url, "scopes": ["raw:read"]},
                    {"name": "down", "upstream": f"http://127.0.0.1:{free_port()}", "scopes": ["down:read"]},
                ],
            }
        )
        # the echo server trusts the gateway secret + X-MCP-* headers: the bearer is stripped by default
        gateway_options.setdefault("upstream_auth_mode", "strip")
        gateway = build_gateway(manifest, secret=SECRET, **gateway_options)
        url = await stack.enter_async_context(running_gateway(gateway, sock=gateway_sock))
        assert url == origin
        yield Stack(url, issuer, manifest, echo, raw, raw_app)


@contextlib.asynccontextmanager
async def client() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(timeout=10) as http:
        yield http


async def raw_status(base: str, path: str, headers: dict[str, str]) -> int:
    """GET `path` byte for byte (HTTP clients normalise dot segments away before sending)."""
    host, port = base.removeprefix("http://").split(":")
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    async with await anyio.connect_tcp(host, int(port)) as stream:
        await stream.send(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n" not in data:
            data += await stream.receive()
    return int(data.split(b" ")[1])


def whoami(response: httpx2.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert not result.get("isError"), result
    content: dict[str, Any] = result["structuredContent"]
    return content


def assert_challenge(response: httpx2.Response, status: int, www: str, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers.get_list("www-authenticate") == [www]
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == error


# ---------------------------------------------------------------- README rows 1–6b
async def test_row1_g1_g2_no_token_gets_challenge_with_metadata_and_scope() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            r = await http.post(s.resource, json=call_body("whoami"), headers=MCP_HEADERS)
            assert_challenge(r, 401, f'Bearer resource_metadata="{s.prm}", scope="echo:read"', "unauthorized")
            assert s.echo == []


async def test_row2_g3_g4_prm_document_served_with_exact_resource() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            r = await http.get(s.prm)
            assert r.status_code == 200
            assert r.headers["content-type"] == "application/json"
            assert r.json() == {
                "resource": s.resource,
                "authorization_servers": [s.issuer.url],
                "bearer_methods_supported": ["header"],
                "scopes_supported": ["echo:read"],
            }
            assert r.json()["resource"].encode() == f"{s.gateway}/mcp/echo".encode()
            head = await http.head(s.prm)
            assert head.status_code == 200
            assert head.content == b""
            assert (await http.get(s.prm + "/")).json()["resource"] == s.resource  # trailing-slash variant
            assert s.echo == []


async def test_row3_g6_valid_token_is_proxied_to_the_upstream() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            r = await http.post(s.resource, json=call_body("whoami"), headers=s.auth())
            me = whoami(r)
            assert me["subject"] == dev_subject("alice")
            assert me["scopes"] == ["echo:read"]
            assert me["audience"] == [s.resource]
            assert [(seen.method, seen.path) for seen in s.echo] == [("POST", "/mcp")]


async def test_row4_g7_expired_token_is_invalid_token() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            expired = s.token(exp=int(time.time()) - 120, iat=int(time.time()) - 600)
            r = await http.post(s.resource, json=call_body("whoami"), headers=s.auth(expired))
            www = f'Bearer resource_metadata="{s.prm}", scope="echo:read", error="invalid_token"'
            assert_challenge(r, 401, www, "invalid_token")
            assert s.echo == []


async def test_g7_expiry_within_leeway_is_accepted() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            barely = s.token(exp=int(time.time()) - 5)
            await http.post(s.resource, json=call_body("whoami"), headers=s.auth(barely))
            # the gateway let it through (leeway 30 s); the server's own expiry check is stricter (S3)
            assert len(s.echo) == 1
            assert s.echo[0].one("x-mcp-subject") == dev_subject("alice")


async def test_row5a_g8_missing_scope_is_insufficient_scope() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            for scope in ("", "echo:write", "other:read", "echo:readx"):
                r = await http.post(s.resource, json=call_body("whoami"), headers=s.auth(scope=scope))
                www = f'Bearer resource_metadata="{s.prm}", error="insufficient_scope", scope="echo:read"'
                assert_challenge(r, 403, www, "insufficient_scope")
            assert s.echo == []


async def test_row5b_g9_token_for_another_resource_or_without_aud_is_rejected() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            for token in (
                s.token(f"{s.gateway}/mcp/other", scope="echo:read other:read"),
                s.token(aud=None),
                s.token(f"{s.gateway}/mcp/echo/"),  # byte-exact: a trailing slash is another resource
            ):
                r = await http.post(s.resource, json=call_body("whoami"), headers=s.auth(token))
                assert r.status_code == 401
                assert 'error="invalid_token"' in r.headers["www-authenticate"]
            assert s.echo == []


async def test_row5c_g10_hs256_forgery_and_alg_none_rejected_even_without_jwks() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            s.issuer.available = False  # refused on the algorithm alone, before any key lookup
            public_pem = (
                s.issuer.keys[s.issuer.kid]
                .public_key()
                .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            )
            claims = s.issuer.claims(s.resource, scope="echo:read")
            header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": s.issuer.kid}).encode())
            payload = base64.urlsafe_b64encode(json.dumps(claims).encode())
            signing_input = header.rstrip(b"=") + b"." + payload.rstrip(b"=")
            mac = hmac.new(public_pem, signing_input, "sha256").digest()
            forged = (signing_input + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()
            unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": s.issuer.kid})
            for token in (forged, unsigned, "not-a-jwt", "a.b.c"):
                r = await http.post(s.resource, json=call_body("whoami"), headers=s.auth(token))
                assert r.status_code == 401, r.text
                assert 'error="invalid_token"' in r.headers["www-authenticate"]
            assert s.issuer.jwks_requests == 0
            assert s.echo == []


async def test_g10_algorithms_pinned_to_rs_like_the_plugin() -> None:
    with anyio.fail_after(30):
        async with fleet_stack(algorithm="ES256") as s, client() as http:
            r = await http.post(s.resource, json=call_body("whoami"), headers=s.auth())  # well-signed ES256
            assert r.status_code == 401
            assert 'error="invalid_token"' in r.headers["www-authenticate"]
            assert s.echo == []


async def test_row6a_g22_bearer_is_stripped_before_the_upstream() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            whoami(await http.post(s.resource, json=call_body("whoami"), headers=s.auth()))
            (seen,) = s.echo
            assert seen.all("authorization") == []


async def test_row6b_g18_client_mcp_headers_never_reach_the_upstream() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            spoof = {
                "X-MCP-Subject": "admin",
                "X-MCP-Foo": "x",
                "X-MCP-Scope": "echo:read echo:write",
                "X_MCP_Subject": "admin",
                "X-MCP_Token-Id": "forged",  # mixed separators: one name to a WSGI/CGI upstream
                "X_MCP-Client": "forged",
            }
            r = await http.post(s.resource, json=call_body("whoami"), headers={**s.auth(), **spoof})
            assert whoami(r)["subject"] == dev_subject("alice")
            (seen,) = s.echo
            assert seen.all("x-mcp-subject") == [dev_subject("alice")]
            assert seen.all("x-mcp-scope") == ["echo:read"]
            assert "x-mcp-foo" not in seen.names()
            assert "x_mcp_subject" not in seen.names()
            assert not {"x-mcp_token-id", "x_mcp-client"} & set(seen.names())
            assert "forged" not in str(seen.all("x-mcp-token-id") + seen.all("x-mcp-client"))


# ---------------------------------------------------------------- gateway checklist G5, G11–G24
async def test_g5_prm_is_get_head_only_and_each_route_serves_its_own() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            for method in ("POST", "PUT", "DELETE", "PATCH"):
                r = await http.request(method, s.prm)
                assert r.status_code == 405
                assert r.headers["allow"] == "GET, HEAD"
                assert r.json()["error"] == "method_not_allowed"
            other = await http.get(f"{s.gateway}/.well-known/oauth-protected-resource/mcp/other")
            assert other.json()["resource"] == f"{s.gateway}/mcp/other"
            assert other.json()["scopes_supported"] == ["other:read"]
            root = await http.get(f"{s.gateway}/.well-known/oauth-protected-resource")
            assert root.status_code == 404
            assert s.echo == []


async def test_g11_issuer_byte_equal_and_foreign_or_unknown_keys_rejected() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            stranger = JwtIssuer()  # a foreign key pair claiming the same kid and issuer
            stranger.url = s.issuer.url
            stranger.keys = {s.issuer.kid: stranger.keys[stranger.kid]}
            stranger.kid = s.issuer.kid
            for token in (
                s.token(iss=s.issuer.url + "/"),
                s.token(iss=s.issuer.url.replace("127.0.0.1", "localhost")),
                s.token(iss=None),
                stranger.mint(s.resource, scope="echo:read"),
                s.token(headers={"kid": "no-such-kid"}),
            ):
                r = await http.post(s.resource, json=call_body("whoami"), headers=s.auth(token))
                assert r.status_code == 401, r.text
                assert 'error="invalid_token"' in r.headers["www-authenticate"]
            assert s.echo == []


async def test_g12_jwks_outage_on_cold_cache_is_503_then_recovers() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            s.issuer.available = False
            r = await http.post(s.resource, json=call_body("whoami"), headers=s.auth())
            assert r.status_code == 503
            assert r.json()["error"] == "temporarily_unavailable"
            assert "www-authenticate" not in r.headers  # not a token problem: don't send the client to OAuth
            assert s.echo == []
            s.issuer.available = True
            recovered_at = time.monotonic()
            while (
                r := await http.post(s.resource, json=call_body("whoami"), headers=s.auth())
            ).status_code == 503:
                # a failed fetch is retried after FAILED_FETCH_RETRY, not on every request
                assert time.monotonic() - recovered_at < FAILED_FETCH_RETRY + 1
                await anyio.sleep(0.1)
            assert whoami(r)


async def test_g13_refresh_token_is_not_a_bearer() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            for kind in ("refresh", None, "id"):
                r = await http.post(s.resource, json=call_body("whoami"), headers=s.auth(type=kind))
                assert r.status_code == 401
                assert 'error="invalid_token"' in r.headers["www-authenticate"]
            assert s.echo == []


async def test_g14_query_string_token_refused() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            token = s.token()
            for query in (f"access_token={token}", f"jwt={token}", f"a=1&ACCESS_TOKEN={token}"):
                r = await http.post(f"{s.resource}?{query}", json=call_body("whoami"), headers=MCP_HEADERS)
                assert r.status_code == 401
                assert 'error="invalid_request"' in r.headers["www-authenticate"]
                # refused even next to a good header: the URL would carry a live token into logs
                r = await http.post(f"{s.resource}?{query}", json=call_body("whoami"), headers=s.auth(token))
                assert r.status_code == 401
            assert s.echo == []


async def test_g15_two_authorization_headers_are_400_invalid_request() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            good = f"Bearer {s.token()}"
            headers = [*MCP_HEADERS.items(), ("Authorization", good), ("Authorization", "Bearer other")]
            r = await http.post(s.resource, json=call_body("whoami"), headers=headers)
            assert_challenge(
                r, 400, f'Bearer resource_metadata="{s.prm}", error="invalid_request"', "invalid_request"
            )
            assert s.echo == []


async def test_g15_basic_scheme_gets_the_bare_challenge() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            for value in ("Basic YWxpY2U6cHc=", f"Token {s.token()}", "Bearer", "Bearerx"):
                r = await http.post(
                    s.resource, json=call_body("whoami"), headers={**MCP_HEADERS, "Authorization": value}
                )
                assert_challenge(
                    r, 401, f'Bearer resource_metadata="{s.prm}", scope="echo:read"', "unauthorized"
                )
            r = await http.post(
                s.resource,
                json=call_body("whoami"),
                headers={**MCP_HEADERS, "Authorization": f"bearer {s.token()}"},
            )
            assert r.status_code == 200  # the scheme is case-insensitive (RFC 6750 §2.1)
            assert len(s.echo) == 1


async def test_g16_every_request_needs_the_token_a_session_is_never_auth() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            first = await http.post(s.resource, json=call_body("whoami"), headers=s.auth())
            assert first.status_code == 200
            session = first.headers.get("mcp-session-id", "session-from-before")
            r = await http.post(
                s.resource, json=call_body("whoami"), headers={**MCP_HEADERS, "Mcp-Session-Id": session}
            )
            assert r.status_code == 401
            assert len(s.echo) == 1


async def test_g17_all_traffic_is_authenticated_not_just_mcp_requests() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            for method, body in (("GET", None), ("POST", b"junk{"), ("DELETE", None), ("PUT", b"{}")):
                r = await http.request(method, s.resource, content=body)
                assert r.status_code == 401
            r = await http.get(f"{s.resource}/anything/below")
            assert r.status_code == 401
            r = await http.options(s.resource)  # OPTIONS without Origin is not a preflight
            assert r.status_code == 401
            assert s.echo == []


async def test_g19_absent_claims_clear_their_headers() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            token = s.token(jti=None, client_id=None)
            spoof = {"X-MCP-Token-Id": "x", "X-MCP-Client": "evil"}
            r = await http.post(s.resource, json=call_body("whoami"), headers={**s.auth(token), **spoof})
            me = whoami(r)
            assert me["token_id"] is None
            assert me["client_id"] is None
            (seen,) = s.echo
            assert seen.all("x-mcp-token-id") == []
            assert seen.all("x-mcp-client") == []


async def test_g20_control_characters_in_a_forwarded_claim_are_401() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            for claims in (
                {"sub": "alice\r\nX-MCP-Subject: admin"},
                {"scope": "echo:read\tadmin"},
                {"client_id": "c\x00"},
                {"jti": "j\x7f"},
                {"aud": [s.resource, "x\ny"]},
            ):
                r = await http.post(s.resource, json=call_body("whoami"), headers=s.auth(**claims))
                assert r.status_code == 401, claims
                assert 'error="invalid_token"' in r.headers["www-authenticate"]
            assert s.echo == []


async def test_g21_claims_map_to_headers_exactly_as_the_plugin_forwards_them() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            exp = int(time.time()) + 600
            token = s.token(
                aud=[s.resource, "https://other.example/api"],
                client_id=None,
                azp="azp-client",
                jti="jti-1",
                exp=exp,
                scope="echo:read echo:write",
            )
            whoami(await http.post(s.resource, json=call_body("whoami"), headers=s.auth(token)))
            (seen,) = s.echo
            assert seen.one("x-mcp-subject") == dev_subject("alice")
            assert seen.one("x-mcp-scope") == "echo:read echo:write"
            assert seen.one("x-mcp-issuer") == s.issuer.url
            assert seen.one("x-mcp-audience") == f"{s.resource} https://other.example/api"
            assert seen.one("x-mcp-client") == "azp-client"  # client_id absent: azp
            assert seen.one("x-mcp-token-id") == "jti-1"
            assert seen.one("x-mcp-expires") == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp))
            s.echo.clear()
            whoami(
                await http.post(
                    s.resource, json=call_body("whoami"), headers=s.auth(client_id="cid", azp="azp")
                )
            )
            assert s.echo[0].one("x-mcp-client") == "cid"  # client_id wins over azp


async def test_g24_cors_preflight_is_not_challenged_and_the_challenge_is_exposed() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            preflight = {
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            }
            for url in (s.resource, s.prm):
                r = await http.options(url, headers=preflight)
                assert r.status_code == 200
                assert r.headers["access-control-allow-origin"] == "*"
                assert "authorization" in r.headers["access-control-allow-headers"].lower()
                assert "www-authenticate" not in r.headers
            r = await http.post(
                s.resource, json=call_body("whoami"), headers={**MCP_HEADERS, "Origin": "https://app.example"}
            )
            assert r.status_code == 401
            assert "WWW-Authenticate" in r.headers["access-control-expose-headers"]
            assert r.headers["access-control-allow-origin"] == "*"
            assert s.echo == []


async def test_verified_token_cache_is_per_resource() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            token = s.token(scope="echo:read other:read")
            for _ in range(2):  # the second call is answered from the verified-token cache
                whoami(await http.post(s.resource, json=call_body("whoami"), headers=s.auth(token)))
            r = await http.post(f"{s.gateway}/mcp/other", json=call_body("whoami"), headers=s.auth(token))
            assert r.status_code == 401  # verified for /mcp/echo, still not a token for /mcp/other
            assert len(s.echo) == 2


async def test_verified_token_cache_honours_expiry() -> None:
    with anyio.fail_after(30):
        async with fleet_stack(leeway=0) as s, client() as http:
            exp = int(time.time()) + 2
            token = s.token(exp=exp)
            whoami(await http.post(s.resource, json=call_body("whoami"), headers=s.auth(token)))
            while True:  # poll: the cached verdict must lapse at exp, exactly like a fresh check
                before = len(s.echo)
                r = await http.post(s.resource, json=call_body("whoami"), headers=s.auth(token))
                if len(s.echo) == before:  # refused by the gateway itself, not by the server
                    assert r.status_code == 401
                    break
                await anyio.sleep(0.05)
            assert time.time() >= exp


async def test_gateway_secret_is_added_and_a_client_copy_replaced() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            headers = {**s.auth(), "X-MCP-Gateway-Secret": "guessed"}
            whoami(await http.post(s.resource, json=call_body("whoami"), headers=headers))
            assert s.echo[0].all("x-mcp-gateway-secret") == [SECRET]


async def test_passthrough_mode_forwards_the_bearer() -> None:
    with anyio.fail_after(30):
        async with fleet_stack(upstream_auth_mode="passthrough") as s, client() as http:
            token = s.token()
            whoami(await http.post(s.resource, json=call_body("whoami"), headers=s.auth(token)))
            assert s.echo[0].all("authorization") == [f"Bearer {token}"]
            assert s.echo[0].all("x-mcp-gateway-secret") == [SECRET]


async def test_host_rewritten_and_forwarded_headers_set_by_the_gateway() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            spoof = {
                "X-Forwarded-For": "6.6.6.6",
                "X-Forwarded-Host": "evil.example",
                "Forwarded": "for=6.6.6.6",
            }
            r = await http.post(f"{s.resource}?x=1", json=call_body("whoami"), headers={**s.auth(), **spoof})
            whoami(r)
            (seen,) = s.echo
            assert seen.one("host") == s.manifest.server("echo").upstream.removeprefix("http://")
            assert seen.one("x-forwarded-for") == "127.0.0.1"
            assert seen.one("x-forwarded-host") == s.gateway.removeprefix("http://")
            assert seen.one("x-forwarded-proto") == "http"
            assert seen.one("x-forwarded-prefix") == "/mcp/echo"
            assert seen.all("forwarded") == []
            assert seen.query == b"x=1"


async def test_hop_by_hop_headers_are_dropped() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            hop = {
                "Connection": "keep-alive, X-Private-Hop",
                "X-Private-Hop": "1",
                "Keep-Alive": "timeout=5",
                "Proxy-Authorization": "Basic eDp5",
                "Upgrade": "h2c",
                "X-Kept": "yes",
            }
            whoami(await http.post(s.resource, json=call_body("whoami"), headers={**s.auth(), **hop}))
            (seen,) = s.echo
            for name in ("x-private-hop", "keep-alive", "proxy-authorization", "upgrade"):
                assert name not in seen.names(), name
            assert seen.one("x-kept") == "yes"


async def test_sse_passes_through_as_it_is_produced() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            token = s.token(f"{s.gateway}/mcp/raw", scope="raw:read")
            async with http.stream("GET", f"{s.gateway}/mcp/raw/sse", headers=s.auth(token)) as r:
                assert r.status_code == 200
                assert r.headers["content-type"] == "text/event-stream"
                chunks = r.aiter_raw()
                first = await chunks.__anext__()
                assert first == b"data: one\n\n"  # arrived while the upstream is still holding "two"
                s.raw_app.release.set()
                rest = b"".join([chunk async for chunk in chunks])
                assert rest == b"data: two\n\n"
            assert s.raw[0].path == "/mcp/sse"
            r = await http.post(f"{s.gateway}/mcp/raw/body%2Fx", content=b"", headers=s.auth(token))
            assert r.status_code == 404  # the upstream's answer: the encoded slash reached it as sent
            assert s.raw[-1].path == "/mcp/body/x"
            assert s.raw[-1].raw_path == b"/mcp/body%2Fx"


async def test_request_bodies_stream_through_intact() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            token = s.token(f"{s.gateway}/mcp/raw", scope="raw:read")
            big = bytes(range(256)) * 8192  # 2 MiB: above the buffering limit, streamed

            async def chunked() -> AsyncIterator[bytes]:
                for i in range(0, len(big), 65536):
                    yield big[i : i + 65536]

            for content in (big, chunked(), b"small"):
                r = await http.post(f"{s.gateway}/mcp/raw/body", content=content, headers=s.auth(token))
                expected = b"small" if content == b"small" else big
                assert r.json() == {"length": len(expected), "sha": hashlib.sha256(expected).hexdigest()}


async def test_upstream_unreachable_is_502_json() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            token = s.token(f"{s.gateway}/mcp/down", scope="down:read")
            r = await http.post(f"{s.gateway}/mcp/down", json=call_body("whoami"), headers=s.auth(token))
            assert r.status_code == 502
            assert r.json()["error"] == "bad_gateway"


async def test_upstream_timeout_is_504_json() -> None:
    with anyio.fail_after(30):
        async with fleet_stack(upstream_timeout=0.5) as s, client() as http:
            token = s.token(f"{s.gateway}/mcp/raw", scope="raw:read")
            r = await http.get(f"{s.gateway}/mcp/raw/hang", headers=s.auth(token))
            assert r.status_code == 504
            assert r.json()["error"] == "upstream_timeout"


async def test_unknown_paths_and_dot_segments_are_404_without_upstream_traffic() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            for path in ("/", "/mcp", "/mcp/nope", "/mcp/echox"):
                r = await http.get(s.gateway + path, headers=s.auth())
                assert r.status_code == 404, path
            for path in (
                "/mcp/echo/../../healthz",
                "/mcp/echo/./x",
                "/mcp/echo/%2e%2e/x",
            ):  # as sent, unnormalised
                assert await raw_status(s.gateway, path, s.auth()) == 404, path
            assert (await http.get(f"{s.gateway}/healthz")).json() == {"ok": True}
            assert s.echo == []


# ---------------------------------------------------------------- server checklist items, through the gateway
async def test_s1_s2_upstream_refuses_requests_that_did_not_come_through_the_gateway() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            upstream = s.manifest.server("echo").upstream + "/mcp"
            forged = {**MCP_HEADERS, "X-MCP-Subject": "admin", "X-MCP-Scope": "echo:read"}
            r = await http.post(upstream, json=call_body("whoami"), headers=forged)
            assert r.status_code == 401
            r = await http.post(
                upstream, json=call_body("whoami"), headers={**MCP_HEADERS, "X-MCP-Gateway-Secret": SECRET}
            )
            assert r.status_code == 401  # S2: the secret without a subject is still nobody


async def test_s4_tool_scope_step_up_challenge_passes_through_the_gateway() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            r = await http.post(s.resource, json=call_body("write_note", {"text": "hi"}), headers=s.auth())
            assert r.status_code == 403
            www = r.headers["www-authenticate"]
            assert 'error="insufficient_scope"' in www
            assert "echo:write" in www
            assert f'resource_metadata="{s.prm}"' in www
            ok = await http.post(
                s.resource,
                json=call_body("write_note", {"text": "hi"}),
                headers=s.auth(scope="echo:read echo:write"),
            )
            assert ok.json()["result"]["structuredContent"] == {"result": "hi"}


async def test_s5_foreign_origin_is_refused_by_the_server_behind_the_gateway() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            r = await http.post(
                s.resource, json=call_body("whoami"), headers={**s.auth(), "Origin": "https://evil.example"}
            )
            assert r.status_code == 403
            assert len(s.echo) == 1  # the gateway forwarded it; the server said no


async def test_s8_unsupported_protocol_version_is_400_through_the_gateway() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            headers = {**s.auth(), "MCP-Protocol-Version": "1999-01-01"}
            r = await http.post(s.resource, json=call_body("whoami"), headers=headers)
            assert r.status_code == 400


async def test_s9_no_token_ever_reaches_the_gateway_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            tokens = [s.token(), s.token(scope=""), s.token(exp=1), s.token(f"{s.gateway}/mcp/other")]
            for token in tokens:
                await http.post(s.resource, json=call_body("whoami"), headers=s.auth(token))
            await http.post(f"{s.resource}?access_token={tokens[0]}", headers=MCP_HEADERS)
            s.issuer.available = False
    ours = [r for r in caplog.records if r.name.startswith(("fleet", "uvicorn"))]  # not the test's own client
    text = "\n".join(record.getMessage() for record in ours)
    assert "rejected token" in text  # the gateway does log its decisions...
    for token in tokens:
        assert token not in text  # ...never the token
        assert token.split(".")[2] not in text


# ---------------------------------------------------------------- hardening (issue 12)


async def raw_exchange(base: str, head: bytes, body: bytes = b"") -> bytes:
    """Send `head` + `body` byte for byte and read until the server closes the connection."""
    host, port = base.removeprefix("http://").split(":")
    async with await anyio.connect_tcp(host, int(port)) as stream:
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await stream.send(head + body)
        data = b""
        with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError, ConnectionResetError):
            while True:
                data += await stream.receive()
    return data


async def test_finding5_upgrade_with_a_body_is_400_json_not_500() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            upgrade = {
                "Upgrade": "h2c",
                "Connection": "Upgrade, HTTP2-Settings",
                "HTTP2-Settings": "AAMAAABk",
            }
            for headers in (s.auth(), {**s.auth(), "Upgrade": "websocket", "Connection": "upgrade"}):
                r = await http.post(s.resource, json=call_body("whoami"), headers={**headers, **upgrade})
                assert r.status_code == 400, r.text
                assert r.json()["error"] == "invalid_request"
            assert s.echo == []
            # an upgrade offer without a body (curl --http2 on http://) is declined and proxied as usual
            token = s.token(f"{s.gateway}/mcp/raw", scope="raw:read")
            r = await http.get(f"{s.gateway}/mcp/raw/body", headers={**s.auth(token), **upgrade})
            assert r.json()["length"] == 0
            assert "upgrade" not in s.raw[-1].names()


async def test_finding5_oversized_request_head_is_431_and_cheap() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            host = s.gateway.removeprefix("http://")
            head = f"GET /mcp/echo HTTP/1.1\r\nHost: {host}\r\nX-Big: ".encode()
            answer = await raw_exchange(s.gateway, head, b"a" * (8 << 20) + b"\r\n\r\n")  # 8 MiB header
            assert answer.startswith(b"HTTP/1.1 431 ")
            assert b'"request_header_fields_too_large"' in answer
            # many headers that are each small add up the same way
            many = b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 1000) for i in range(100))
            answer = await raw_exchange(s.gateway, head.replace(b"X-Big: ", many + b"X-Last: "), b"1\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 431 ")
            assert (await http.get(s.gateway + "/healthz")).status_code == 200
            # a normal head, bearer token and all, is far below the cap; keep-alive requests reset the count
            for _ in range(3):
                padded = {**s.auth(), "X-Pad": "p" * 30000}
                whoami(await http.post(s.resource, json=call_body("whoami"), headers=padded))
            assert s.echo[0].one("x-pad") == "p" * 30000


async def test_finding10_bearer_scheme_is_case_insensitive_rfc7235() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            for scheme in ("bearer", "BEARER", "BeArEr"):
                headers = {**MCP_HEADERS, "Authorization": f"{scheme} {s.token()}"}
                assert whoami(await http.post(s.resource, json=call_body("whoami"), headers=headers))
            headers = {**MCP_HEADERS, "Authorization": f"Bearer\t{s.token()}"}  # not "Bearer" SP token
            r = await http.post(s.resource, json=call_body("whoami"), headers=headers)
            assert r.status_code == 401


async def test_a_browser_is_told_what_the_endpoint_is_and_still_challenged() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            r = await http.get(s.resource, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
            assert r.status_code == 401
            assert r.headers["www-authenticate"] == f'Bearer resource_metadata="{s.prm}", scope="echo:read"'
            assert r.headers["content-type"] == "text/html; charset=utf-8"
            assert "This is an MCP endpoint" in r.text
            assert s.resource in r.text
            # signed in, the GET reaches the server, which never streams: 405, not a silent open stream
            r = await http.get(s.resource, headers={**s.auth(), "Accept": "text/event-stream"})
            assert r.status_code == 405
            assert s.echo[-1].method == "GET"
