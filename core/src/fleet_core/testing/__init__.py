"""Test helpers every server reuses: identities, a real HTTP server, an MCP client, a token issuer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import tomllib
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, overload

import httpx2
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._accounts import dev_subject
from .._app import build_app
from .._identity import Identity
from .._local import local_identity
from .._serve import bind_loopback, free_port, running_app
from .._settings import ServerSettings, TrustMode
from .sentry import SentryCapture, sentry_capture

__all__ = [
    "MCP_HEADERS",
    "TEST_ISSUER",
    "TEST_SECRET",
    "AuditCapture",
    "JwtIssuer",
    "SentryCapture",
    "UnreachableBackend",
    "acting_as",
    "bind_loopback",
    "call_body",
    "capture_audit",
    "connect",
    "free_port",
    "identity",
    "identity_headers",
    "in_own_task",
    "manifest_servers",
    "running_app",
    "sentry_capture",
    "serve_server",
    "settings_for",
    "text_of",
]

TEST_SECRET = "test-gateway-secret-0123456789"  # noqa: S105 - tests only
TEST_ISSUER = "http://127.0.0.1:8701"


_SettingsT = TypeVar("_SettingsT", bound=ServerSettings)
_T = TypeVar("_T")

MCP_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-11-25",
}


class UnreachableBackend(httpx2.AsyncBaseTransport):
    """An httpx2 transport for a backend client under test that records each request it is asked to
    send and fails it as a refused connection: a contract's `backend_requests` for a server whose real
    backend can't run in the test (`backend_requests=lambda: len(transport.requests)`)."""

    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        raise httpx2.ConnectError(
            "connection refused (fleet_core.testing.UnreachableBackend)", request=request
        )


def manifest_servers(start: Path | str | None = None) -> list[str]:
    """The enabled servers of the nearest `fleet.toml` at or above `start` (default: the working
    directory), in manifest order: tests parametrize over this, never over a hard-coded list, so a new
    server is tested the moment it is registered."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        path = folder / "fleet.toml"
        if path.is_file():
            servers = tomllib.loads(path.read_text(encoding="utf-8")).get("servers", [])
            return [str(s["name"]) for s in servers if s.get("enabled", True)]
    raise FileNotFoundError(f"no fleet.toml at or above {here}")


def call_body(tool: str, arguments: dict[str, Any] | None = None, *, request_id: int = 1) -> dict[str, Any]:
    """A handshake-era (2025-11-25) tools/call request as raw JSON-RPC, for tests below the MCP client."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments or {}},
    }


def identity(
    subject: str = "alice",
    scopes: str = "",
    *,
    audience: str,
    issuer: str = TEST_ISSUER,
    client_id: str | None = "fleet-client",
    token_id: str | None = None,
    expires_in: float = 300,
    account: str | None = "",
) -> Identity:
    """An identity as the front door would establish it. `account` (default: the subject) only matters
    for in-process calls (`acting_as`); over HTTP the server's gate resolves it from its settings."""
    return Identity(
        subject=subject,
        scopes=frozenset(scopes.split()),
        issuer=issuer,
        audience=(audience,),
        client_id=client_id,
        token_id=token_id or uuid.uuid4().hex,
        expires_at=datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=expires_in),
        account=subject if account == "" else account,
    )


def identity_headers(who: Identity) -> dict[str, str]:
    """The X-MCP-* headers a front door sets for `who` (values as the Kong plugin forwards them)."""
    headers = {
        "X-MCP-Subject": who.subject,
        "X-MCP-Scope": " ".join(sorted(who.scopes)),
        "X-MCP-Issuer": who.issuer,
        "X-MCP-Audience": " ".join(who.audience),
        "X-MCP-Expires": who.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if who.client_id:
        headers["X-MCP-Client"] = who.client_id
    if who.token_id:
        headers["X-MCP-Token-Id"] = who.token_id
    return headers


@overload
def settings_for(
    *, name: str = ..., trust_mode: TrustMode | str = ..., **overrides: Any
) -> ServerSettings: ...
@overload
def settings_for(
    cls: type[_SettingsT], *, name: str = ..., trust_mode: TrustMode | str = ..., **overrides: Any
) -> _SettingsT: ...
def settings_for(
    cls: type[ServerSettings] = ServerSettings,
    *,
    name: str = "test",
    trust_mode: TrustMode | str = TrustMode.GATEWAY_SECRET,
    **overrides: Any,
) -> ServerSettings:
    """Settings for a server under test (of `cls`, a server's own settings class, if given);
    public_url is the gateway URL the identity must name. In gateway-secret mode the secret is
    TEST_SECRET; in jwt mode none unless given (the second lock)."""
    values: dict[str, Any] = {
        "public_url": f"http://127.0.0.1:8700/mcp/{name}",
        "trust_mode": trust_mode,
        "issuer": TEST_ISSUER,
    }
    if TrustMode(trust_mode) is TrustMode.GATEWAY_SECRET:
        values["gateway_secrets"] = [TEST_SECRET]
    values.update(overrides)
    return cls.model_validate(values)


def text_of(result: CallToolResult) -> str:
    """The text of a tool result's first content block (a tool error's message, a plain-text result)."""
    block = result.content[0]
    assert isinstance(block, TextContent), block
    return block.text


@contextlib.contextmanager
def acting_as(who: Identity) -> Iterator[None]:
    """Give in-memory `Client(mcp)` calls (no HTTP, so no front door) an explicit identity."""
    token = local_identity.set(who)
    try:
        yield
    finally:
        local_identity.reset(token)


@contextlib.asynccontextmanager
async def in_own_task(context: AbstractAsyncContextManager[_T]) -> AsyncIterator[_T]:
    """Enter `context` and later exit it in one task of its own: for pytest-asyncio yield fixtures.

    pytest-asyncio runs a yield fixture's setup and its teardown as two tasks, and an anyio task group or
    cancel scope (running_app, serve_server, connect, an in-memory `Client`) must be exited by the task
    that entered it (pytest-dev/pytest-asyncio#1191). So a fixture that holds one across its `yield`:

        @pytest.fixture
        async def url() -> AsyncIterator[str]:
            async with in_own_task(running_app(app)) as base:
                yield base

    The host task lives on the fixture's event loop (its loop_scope); an error in the context's
    background work (a server that crashed mid-test) is raised at teardown.
    """
    entered: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
    leave = asyncio.Event()

    async def host() -> None:
        async with context as value:
            entered.set_result(value)
            await leave.wait()

    task = asyncio.create_task(host())
    try:
        either: set[asyncio.Future[Any]] = {task, entered}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if not entered.done():
            await task  # it failed to enter: raise why
            raise RuntimeError("the context returned without entering")
    except BaseException:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise
    try:
        yield entered.result()
    finally:
        leave.set()
        await task


@contextlib.asynccontextmanager
async def serve_server(mcp: MCPServer, settings: ServerSettings, **kwargs: Any) -> AsyncIterator[str]:
    """build_app + running_app; yields the MCP endpoint URL."""
    async with running_app(build_app(mcp, settings, **kwargs)) as base:
        yield base + settings.path


@contextlib.asynccontextmanager
async def connect(
    url: str,
    *,
    identity: Identity | None = None,
    secret: str | None = TEST_SECRET,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    mode: str = "auto",
    http_timeout: float = 10,
) -> AsyncIterator[Client]:
    """An MCP client over real HTTP, sending what the front door would send for `identity`."""
    sent: dict[str, str] = {}
    if identity is not None:
        sent |= identity_headers(identity)
    if secret is not None:
        sent["X-MCP-Gateway-Secret"] = secret
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    sent |= dict(headers or {})
    async with (
        httpx2.AsyncClient(headers=sent, timeout=http_timeout) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        yield client


class JwtIssuer:
    """A throwaway issuer: key pairs, token minting, and its discovery document + JWKS over real HTTP.

    `async with JwtIssuer() as issuer:` serves on a free loopback port; `issuer.url` is the issuer.
    Set `issuer.available = False` to simulate a JWKS outage.
    """

    def __init__(self, *, algorithm: str = "RS256") -> None:
        self.algorithm = algorithm
        self.keys: dict[str, Any] = {}
        self.kid = self.add_key()
        self.url = ""
        self.available = True
        self.jwks_requests = 0
        self.metadata_requests = 0

    def add_key(self) -> str:
        kid = uuid.uuid4().hex[:12]
        if self.algorithm.startswith("ES"):
            self.keys[kid] = ec.generate_private_key(ec.SECP256R1())
        else:
            self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return kid

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, private in self.keys.items():
            jwk = jwt.algorithms.get_default_algorithms()[self.algorithm].to_jwk(
                private.public_key(), as_dict=True
            )
            keys.append(jwk | {"kid": kid, "use": "sig", "alg": self.algorithm})
        return {"keys": keys}

    def claims(self, audience: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.url,
            # AuthGate's shape: sub and user_id are the user's UUID, the username is in `extra_uid`
            "sub": dev_subject("alice"),
            "user_id": dev_subject("alice"),
            "extra_uid": "alice",
            "client_id": "fleet-client",
            "scope": "",
            "type": "access",
            "aud": audience,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(
        self, audience: str, *, kid: str | None = None, headers: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        """Sign a token; pass a claim as None to leave it out."""
        kid = kid or self.kid
        return jwt.encode(
            self.claims(audience, **claims),
            self.keys[kid],
            algorithm=self.algorithm,
            headers={"kid": kid, **(headers or {})},
        )

    def app(self) -> Starlette:
        async def metadata(_: Request) -> Response:
            self.metadata_requests += 1
            if not self.available:
                return Response(status_code=503)
            return JSONResponse({"issuer": self.url, "jwks_uri": f"{self.url}/jwks"})

        async def jwks(_: Request) -> Response:
            self.jwks_requests += 1
            if not self.available:
                return Response(status_code=503)
            return JSONResponse(self.jwks())

        return Starlette(
            routes=[
                Route("/.well-known/oauth-authorization-server", metadata),
                Route("/jwks", jwks),
            ]
        )

    async def __aenter__(self) -> JwtIssuer:
        self._stack = contextlib.AsyncExitStack()
        self.url = await self._stack.enter_async_context(running_app(self.app()))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()


class AuditCapture(logging.Handler):
    """The `fleet.audit` lines logged while attached: as written (`raw`) and parsed (`lines`)."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.raw: list[str] = []
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.raw.append(message)
        self.lines.append(json.loads(message))


@contextlib.contextmanager
def capture_audit() -> Iterator[AuditCapture]:
    """Collect every audit line logged inside the block (the logger at INFO meanwhile, restored after)."""
    logger = logging.getLogger("fleet.audit")
    capture, level = AuditCapture(), logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.INFO)
    try:
        yield capture
    finally:
        logger.removeHandler(capture)
        logger.setLevel(level)
