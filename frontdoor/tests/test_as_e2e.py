"""The dev authorization server over real sockets, and with the MCP SDK's own OAuth client."""

import pathlib
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
import httpx2
import jwt
from mcp import Client
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from fleet_core import bind_loopback, dev_subject
from fleet_frontdoor.authserver.browser import approve_device, approve_in_browser
from fleet_frontdoor.authserver.testing import (
    SAMPLE_TOML,
    Clock,
    pkce_pair,
    sample_manifest,
    seeded,
    serve_auth_server,
    serve_on,
)

REDIRECT = "http://127.0.0.1:5555/callback"
DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


async def jwks_key(http: httpx2.AsyncClient, issuer: str, token: str) -> Any:
    meta = (await http.get(f"{issuer}/.well-known/oauth-authorization-server")).json()
    jwks = (await http.get(meta["jwks_uri"])).json()
    return jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]].key


async def test_code_flow_over_real_http(tmp_path: pathlib.Path) -> None:
    verifier, challenge = pkce_pair()
    with anyio.fail_after(20):
        async with serve_auth_server(sample_manifest(), state_dir=seeded(tmp_path)) as (issuer, _, manifest):
            resource = manifest.server("db").resource
            params = {
                "response_type": "code",
                "client_id": "fleet-client",
                "redirect_uri": REDIRECT,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "resource": resource,
                "scope": "db:read",
                "state": "xyz",
            }
            location = await approve_in_browser(f"{issuer}/oauth/authorize?{urlencode(params)}", user="alice")
            got = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
            assert got["iss"] == issuer
            assert got["state"] == "xyz"
            async with httpx2.AsyncClient() as http:
                r = await http.post(
                    f"{issuer}/oauth/token",
                    data={
                        "grant_type": "authorization_code",
                        "code": got["code"],
                        "code_verifier": verifier,
                        "client_id": "fleet-client",
                        "redirect_uri": REDIRECT,
                        "resource": resource,
                    },
                )
                token = r.json()["access_token"]
                key = await jwks_key(http, issuer, token)
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=resource, issuer=issuer)
    assert claims["sub"] == dev_subject("alice")  # AuthGate: a UUID, never the name
    assert claims["extra_uid"] == "alice"
    assert claims["scope"] == "db:read"
    assert claims["type"] == "access"


async def test_dev_token_over_real_http_from_loopback(tmp_path: pathlib.Path) -> None:
    with anyio.fail_after(20):
        served = serve_auth_server(sample_manifest(), state_dir=seeded(tmp_path), dev_token_endpoint=True)
        async with served as (issuer, _, manifest), httpx2.AsyncClient() as http:
            r = await http.post(f"{issuer}/dev/token", json={"user": "bob", "scope": "db:read"})
            key = await jwks_key(http, issuer, r.json()["access_token"])
    claims = jwt.decode(
        r.json()["access_token"],
        key,
        algorithms=["RS256"],
        audience=manifest.server("db").resource,
        issuer=issuer,
    )
    assert claims["sub"] == dev_subject("bob")  # AuthGate: a UUID, never the name
    assert claims["extra_uid"] == "bob"


async def test_device_flow_over_real_http(tmp_path: pathlib.Path) -> None:
    clock = Clock()
    with anyio.fail_after(20):
        async with (
            serve_auth_server(sample_manifest(), state_dir=seeded(tmp_path), clock=clock) as (
                issuer,
                _,
                manifest,
            ),
            httpx2.AsyncClient() as http,
        ):
            start = await http.post(
                f"{issuer}/oauth/device/code",
                data={
                    "client_id": "fleet-client",
                    "scope": "db:read",
                    "resource": manifest.server("db").resource,
                },
            )
            body = start.json()
            poll = {"grant_type": DEVICE, "device_code": body["device_code"], "client_id": "fleet-client"}
            first = await http.post(f"{issuer}/oauth/token", data=poll)
            assert first.json()["error"] == "authorization_pending"
            await approve_device(body["verification_uri_complete"], user="alice")
            clock.now += body["interval"]
            done = await http.post(f"{issuer}/oauth/token", data=poll)
    assert done.status_code == 200
    assert done.json()["scope"] == "db:read"


# --- the MCP SDK's OAuthClientProvider against the dev AS, through a minimal resource server ---


class MemoryStorage(TokenStorage):
    def __init__(self, client_info: OAuthClientInformationFull | None) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info = client_info

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def resource_server(issuer: str, resource: str, jwks: dict[str, Any]) -> ASGIApp:
    """A stand-in for the gateway: PRM, 401 challenge, JWT check (the real one is the dev gateway)."""
    origin = f"{urlsplit(resource).scheme}://{urlsplit(resource).netloc}"
    path = urlsplit(resource).path
    prm_url = f"{origin}/.well-known/oauth-protected-resource{path}"
    mcp = MCPServer("rs", log_level="WARNING")

    @mcp.tool()
    async def whoami(ctx: Context) -> dict[str, str]:
        request = ctx.request_context.request
        assert request is not None  # served over HTTP
        return {"sub": request.headers["x-test-subject"]}

    inner = mcp.streamable_http_app(streamable_http_path=path, stateless_http=True, json_response=True)
    keys = jwt.PyJWKSet.from_dict(jwks)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await inner(scope, receive, send)
        if scope["path"] == urlsplit(prm_url).path:
            body = {"resource": resource, "authorization_servers": [issuer], "scopes_supported": ["db:read"]}
            return await JSONResponse(body)(scope, receive, send)
        headers = {k.decode(): v.decode() for k, v in scope["headers"] if k != b"x-test-subject"}
        try:
            token = headers.get("authorization", "").removeprefix("Bearer ")
            key = keys[jwt.get_unverified_header(token)["kid"]].key
            claims = jwt.decode(token, key, algorithms=["RS256"], audience=resource, issuer=issuer)
            assert claims["type"] == "access"
        except (jwt.PyJWTError, KeyError, AssertionError):
            challenge = f'Bearer resource_metadata="{prm_url}", scope="db:read"'
            return await JSONResponse({"error": "invalid_token"}, 401, {"WWW-Authenticate": challenge})(
                scope, receive, send
            )
        scope = {**scope, "headers": [*scope["headers"], (b"x-test-subject", claims["sub"].encode())]}
        await inner(scope, receive, send)

    return app


async def test_mcp_sdk_oauth_client_completes_the_code_flow(tmp_path: pathlib.Path) -> None:
    rs_sock = bind_loopback()
    origin = f"http://127.0.0.1:{rs_sock.getsockname()[1]}"
    manifest = sample_manifest(SAMPLE_TOML.replace("http://127.0.0.1:8700", origin))
    box: dict[str, AuthorizationCodeResult] = {}
    seen: list[str] = []

    async def redirect_handler(url: str) -> None:
        seen.append(url)
        location = await approve_in_browser(url, user="alice")
        q = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        box["r"] = AuthorizationCodeResult(code=q["code"], state=q.get("state"), iss=q.get("iss"))

    async def callback_handler() -> AuthorizationCodeResult:
        return box.pop("r")

    with anyio.fail_after(30):
        async with serve_auth_server(manifest, state_dir=seeded(tmp_path)) as (issuer, app, served):
            resource = served.server("db").resource
            rs = resource_server(issuer, resource, app.state.ctx.keys.jwks())
            async with serve_on(rs, rs_sock):
                pre_registered = OAuthClientInformationFull(
                    client_id="fleet-client",
                    redirect_uris=[REDIRECT],
                    token_endpoint_auth_method="none",
                    grant_types=["authorization_code", "refresh_token"],
                )
                provider = OAuthClientProvider(
                    server_url=resource,
                    client_metadata=OAuthClientMetadata(
                        client_name="sdk test",
                        redirect_uris=[REDIRECT],
                        grant_types=["authorization_code", "refresh_token"],
                        token_endpoint_auth_method="none",
                    ),
                    storage=MemoryStorage(pre_registered),
                    redirect_handler=redirect_handler,
                    callback_handler=callback_handler,
                )
                async with (
                    httpx2.AsyncClient(auth=provider) as http,
                    Client(streamable_http_client(resource, http_client=http)) as client,
                ):
                    result = await client.call_tool("whoami", {})
    assert result.structured_content == {"sub": dev_subject("alice")}
    query = parse_qs(urlsplit(seen[0]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["resource"] == [resource]
    assert query["client_id"] == ["fleet-client"]
