"""Fixtures for the Sentry server tests: the spec-checked fake, a client on it, the MCP server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from fleet_core import Identity
from fleet_core.testing import acting_as, identity, settings_for
from fleet_sentry.backend import SentryClient
from fleet_sentry.fake import FAKE_TOKEN, FakeSentry
from fleet_sentry.server import build_server
from fleet_sentry.settings import SentrySettings

AUDIENCE = "http://127.0.0.1:8700/mcp/sentry"


def sentry_settings(**overrides: Any) -> SentrySettings:
    values: dict[str, Any] = {
        "base_url": "http://fake-sentry.test",
        "auth_token": FAKE_TOKEN,
        "org": "acme",
        "retry_backoff_seconds": 0,
        "user_email_domain": "example.com",
        "timeout_seconds": 5,
    }
    values.update(overrides)
    settings = settings_for(SentrySettings, name="sentry", **values)
    assert isinstance(settings, SentrySettings)
    return settings


def reader(subject: str = "bob") -> Identity:
    return identity(subject, "sentry:read", audience=AUDIENCE)


def writer(subject: str = "alice") -> Identity:
    return identity(subject, "sentry:read sentry:write", audience=AUDIENCE)


@pytest.fixture
def fake() -> Iterator[FakeSentry]:
    fake = FakeSentry()
    yield fake
    # Every request the server made must be one Sentry's spec documents, and every answer spec-shaped.
    assert fake.violations == []
    assert fake.response_violations == []


@pytest.fixture
def settings() -> SentrySettings:
    return sentry_settings()


@pytest.fixture
async def client(fake: FakeSentry, settings: SentrySettings) -> AsyncIterator[SentryClient]:
    async with SentryClient(settings, transport=httpx2.ASGITransport(app=fake)) as client:
        yield client


@pytest.fixture
def mcp(settings: SentrySettings, client: SentryClient) -> MCPServer:
    return build_server(settings, client)


async def call_tool(
    mcp: MCPServer, tool: str, args: dict[str, Any] | None = None, who: Identity | None = None
) -> Any:
    with acting_as(who or writer()):
        async with Client(mcp) as session:
            return await session.call_tool(tool, args or {})


@pytest.fixture
def call(mcp: MCPServer) -> Callable[..., Awaitable[Any]]:
    """`await call(tool, args, who=...)`: the tool called in memory (default caller: alice, read+write)."""

    async def run(tool: str, args: dict[str, Any] | None = None, who: Identity | None = None) -> Any:
        return await call_tool(mcp, tool, args, who)

    return run


@pytest.fixture
def as_reader() -> Identity:
    return reader()


@pytest.fixture
def as_writer() -> Identity:
    return writer()


@pytest.fixture
def make_settings() -> Callable[..., SentrySettings]:
    return sentry_settings
