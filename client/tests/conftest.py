"""Stub authorization server + stub protected MCP server over real loopback HTTP.

The stubs are deliberately small and scriptable (hostile metadata, tampered callbacks, device
flow answers); the end-to-end tests use the real dev front door instead.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest
from mcp.server.mcpserver import MCPServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from fleet_client.config import ClientConfig, ServerEntry
from fleet_core.testing import in_own_task, running_app

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass
class Grant:
    scope: str
    resource: str | None
    issuer: str
    expires_at: float


@dataclass
class StubAS:
    issuer: str = ""
    prefix: str = ""
    advertise_iss: bool = True
    registration: bool = False
    grant_only: str | None = None  # grant this scope whatever is asked (a user lacking a scope)
    iss_mode: str = "correct"  # correct | wrong | missing
    state_mode: str = "echo"  # echo | tamper
    pkce_methods: list[str] | None = field(default_factory=lambda: ["S256"])
    authorization_endpoint: str | None = None
    access_ttl: int = 600
    device_script: list[dict[str, Any]] = field(default_factory=list)
    device_interval: int | None = 5
    tokens: dict[str, Grant] = field(default_factory=dict)
    codes: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    log: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    _n: itertools.count[int] = field(default_factory=itertools.count)

    def metadata(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": self.authorization_endpoint or f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "device_authorization_endpoint": f"{self.issuer}/device/code",
            "response_types_supported": ["code"],
            "grant_types_supported": [
                "authorization_code",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:device_code",
            ],
            "token_endpoint_auth_methods_supported": ["none"],
            "authorization_response_iss_parameter_supported": self.advertise_iss,
        }
        if self.pkce_methods is not None:
            doc["code_challenge_methods_supported"] = self.pkce_methods
        if self.registration:
            doc["registration_endpoint"] = f"{self.issuer}/register"
        return doc

    def mint(self, scope: str, resource: str | None) -> dict[str, Any]:
        n = next(self._n)
        access, refresh = f"{self.prefix}at-{n}", f"{self.prefix}rt-{n}"
        self.tokens[access] = Grant(scope, resource, self.issuer, time.time() + self.access_ttl)
        self.tokens[refresh] = Grant(scope, resource, self.issuer, time.time() + 3600)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.access_ttl,
            "refresh_token": refresh,
            "scope": scope,
        }

    def count(self, what: str) -> int:
        return sum(1 for kind, _ in self.log if kind == what)

    def app(self) -> Starlette:
        async def metadata(_: Request) -> Response:
            return JSONResponse(self.metadata())

        async def authorize(request: Request) -> Response:
            q = dict(request.query_params)
            self.log.append(("authorize", q))
            code = f"code-{next(self._n)}"
            self.codes[code] = (q.get("scope", ""), q.get("resource"))
            params = {"code": code}
            params["state"] = "tampered" if self.state_mode == "tamper" else q.get("state", "")
            if self.iss_mode == "correct":
                params["iss"] = self.issuer
            elif self.iss_mode == "wrong":
                params["iss"] = "https://evil.example"
            return RedirectResponse(f"{q['redirect_uri']}?{urlencode(params)}", status_code=302)

        async def token(request: Request) -> Response:
            form = {k: str(v) for k, v in (await request.form()).items()}
            self.log.append(("token:" + form.get("grant_type", ""), form))
            grant = form.get("grant_type")
            if grant == "authorization_code":
                scope, resource = self.codes.pop(form["code"])
                return JSONResponse(self.mint(self.grant_only or scope, resource))
            if grant == "refresh_token":
                old = self.tokens.pop(form.get("refresh_token", ""), None)
                if old is None:
                    return JSONResponse({"error": "invalid_grant"}, status_code=400)
                return JSONResponse(self.mint(old.scope, old.resource))
            if grant == DEVICE_GRANT:
                step = self.device_script.pop(0) if self.device_script else {"error": "authorization_pending"}
                if "error" in step:
                    return JSONResponse(step, status_code=400)
                return JSONResponse(self.mint(form.get("scope", step.get("scope", "")), form.get("resource")))
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)

        async def device_code(request: Request) -> Response:
            form = {k: str(v) for k, v in (await request.form()).items()}
            self.log.append(("device", form))
            self.device_script = [
                {**s, "scope": form.get("scope", "")} if "error" not in s else s for s in self.device_script
            ]
            answer = {
                "device_code": "dev-code",
                "user_code": "ABCD-EFGH",
                "verification_uri": f"{self.issuer}/device",
                "verification_uri_complete": f"{self.issuer}/device?user_code=ABCD-EFGH",
                "expires_in": 600,
            }
            if self.device_interval is not None:
                answer["interval"] = self.device_interval
            return JSONResponse(answer)

        async def register(request: Request) -> Response:
            body = await request.json()
            self.log.append(("register", body))
            return JSONResponse({**body, "client_id": "dcr-client"}, status_code=201)

        return Starlette(
            routes=[
                Route("/register", register, methods=["POST"]),
                Route("/.well-known/oauth-authorization-server", metadata),
                Route("/authorize", authorize),
                Route("/token", token, methods=["POST"]),
                Route("/device/code", device_code, methods=["POST"]),
            ]
        )


def demo_server() -> MCPServer:
    mcp = MCPServer("demo", log_level="WARNING")

    @mcp.tool()
    async def echo(text: str) -> str:
        """Echo (needs demo:read)."""
        return text

    @mcp.tool()
    async def write_note(text: str) -> str:
        """Write (needs demo:write)."""
        return f"wrote {text}"

    return mcp


WRITE_TOOLS = {"write_note"}


@dataclass
class StubRS:
    """A protected MCP resource at <base>/mcp, gated like the fleet gateway (401/403 challenges)."""

    auth: StubAS
    base: str = ""
    prm_resource: str | None = None  # override to make the PRM lie
    resource_metadata_url: str | None = None  # override the 401 challenge's resource_metadata
    authorization_server: str | None = None  # override the AS the PRM names
    seen_tokens: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"

    def prm(self) -> dict[str, Any]:
        return {
            "resource": self.prm_resource or self.url,
            "authorization_servers": [self.authorization_server or self.auth.issuer],
            "scopes_supported": ["demo:read", "demo:write"],
            "bearer_methods_supported": ["header"],
        }

    def challenge(self, status: int, scope: str, error: str) -> Response:
        rm = self.resource_metadata_url or f"{self.base}/.well-known/oauth-protected-resource/mcp"
        header = f'Bearer error="{error}", scope="{scope}", resource_metadata="{rm}"'
        return JSONResponse({"error": error}, status_code=status, headers={"WWW-Authenticate": header})

    def app(self) -> Any:
        mcp_app = demo_server().streamable_http_app(stateless_http=True, json_response=True)

        stub = self

        class Gate:
            def __init__(self, inner: Any):
                self.inner = inner

            async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
                if scope["type"] != "http":
                    await self.inner(scope, receive, send)
                    return
                request = Request(scope, receive)
                body = await request.body()
                auth = request.headers.get("authorization", "")
                token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
                if token:
                    stub.seen_tokens.append(token)
                grant = stub.auth.tokens.get(token)
                if grant is None or grant.expires_at < time.time() or grant.resource != stub.url:
                    await stub.challenge(401, "demo:read", "invalid_token")(scope, receive, send)
                    return
                needed = {"demo:read"}
                if b'"tools/call"' in body and any(f'"{t}"'.encode() in body for t in WRITE_TOOLS):
                    needed.add("demo:write")
                if not needed <= set(grant.scope.split()):
                    response = stub.challenge(403, " ".join(sorted(needed)), "insufficient_scope")
                    await response(scope, receive, send)
                    return

                async def replay() -> dict[str, Any]:
                    return {"type": "http.request", "body": body, "more_body": False}

                await self.inner(scope, replay, send)

        gated = Gate(mcp_app)

        async def dispatch(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"].startswith("/.well-known/"):
                if scope["path"] == "/.well-known/oauth-protected-resource/mcp":
                    await JSONResponse(self.prm())(scope, receive, send)
                else:
                    await JSONResponse({"error": "not_found"}, status_code=404)(scope, receive, send)
                return
            await (gated if scope["type"] == "http" else mcp_app)(scope, receive, send)

        return dispatch


@dataclass
class Stack:
    auth: StubAS
    rs: StubRS
    state_dir: Path

    def config(self, **overrides: Any) -> ClientConfig:
        fields: dict[str, Any] = {
            "gateway": self.rs.base,
            "issuer": None,
            "servers": (ServerEntry(name="demo", url=self.rs.url, scopes=("demo:read", "demo:write")),),
            "client_id": "fleet-client",
            "state_dir": self.state_dir,
            **overrides,
        }
        return ClientConfig(**fields)


async def headless_browser(url: str) -> None:
    """Follow the AS's redirect to the loopback listener, like a browser with an approving user."""
    async with httpx2.AsyncClient(follow_redirects=True, timeout=10) as http:
        await http.get(url)


@contextlib.asynccontextmanager
async def stub_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    auth = StubAS()
    async with running_app(auth.app()) as as_base:
        auth.issuer = as_base
        rs = StubRS(auth)
        async with running_app(rs.app()) as rs_base:
            rs.base = rs_base
            yield Stack(auth, rs, tmp_path / "state")


@contextlib.asynccontextmanager
async def second_as(prefix: str = "as2-") -> AsyncIterator[StubAS]:
    auth = StubAS(prefix=prefix)
    async with running_app(auth.app()) as base:
        auth.issuer = base
        yield auth


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with in_own_task(stub_stack(tmp_path)) as running:
        yield running


# What the `other_as` and `browser` fixtures give a test (tests import these names for mypy only:
# conftest is not importable at run time under --import-mode=importlib).
OtherAS = Callable[..., contextlib.AbstractAsyncContextManager[StubAS]]
Browser = Callable[[str], Awaitable[None]]


@pytest.fixture
def other_as() -> OtherAS:
    return second_as


@pytest.fixture
def browser() -> Browser:
    return headless_browser
