"""The fleet contract (fleet_core.testing.contract), run against fleet-sentry on its spec-checked fake."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from mcp.server.mcpserver import MCPServer

from fleet_core.testing import settings_for
from fleet_core.testing.contract import CHECKS, Contract, check_server
from fleet_sentry.backend import SentryClient
from fleet_sentry.fake import FAKE_TOKEN, FakeSentry
from fleet_sentry.server import build_server
from fleet_sentry.settings import SentrySettings

from .test_sentry_tools import HAPPY

SETTINGS = settings_for(
    SentrySettings, name="sentry", base_url="http://fake-sentry.test", auth_token=FAKE_TOKEN, org="acme"
)


FAKES: list[FakeSentry] = []  # the fake each build serves (the contract counts its requests)


@contextlib.asynccontextmanager
async def build() -> AsyncIterator[MCPServer]:
    fake = FakeSentry()  # whoami reads the organization: Sentry's side of "who am I"
    FAKES.append(fake)
    async with SentryClient(SETTINGS, transport=httpx2.ASGITransport(app=fake)) as client:
        yield build_server(SETTINGS, client)
    assert fake.violations == []


@pytest.mark.parametrize("check", CHECKS)
async def test_contract(check: str) -> None:
    contract = Contract(
        "sentry",
        SETTINGS,
        build,
        Path(__file__).parents[1] / "README.md",
        stdio_env={"FLEET_SENTRY_AUTH_TOKEN": FAKE_TOKEN, "FLEET_SENTRY_BASE_URL": "http://127.0.0.1:9"},
        calls={tool: arguments for tool, (arguments, _) in HAPPY.items()},
        write_call=("bookmark_issue", HAPPY["bookmark_issue"][0]),
        backend_requests=lambda: len(FAKES[-1].calls),
    )
    await check_server(contract, check)
