"""The fleet contract (fleet_core.testing.contract), run against fleet-wiki."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp.server.mcpserver import MCPServer

from fleet_core.testing import UnreachableBackend, settings_for
from fleet_core.testing.contract import CHECKS, Contract, check_server
from fleet_wiki.backend import MediaWikiClient
from fleet_wiki.server import build_server
from fleet_wiki.settings import WikiSettings

SETTINGS = settings_for(
    WikiSettings, name="wiki", url="http://127.0.0.1:9", bot_username="B@x", bot_password="p"
)


TRANSPORTS: list[UnreachableBackend] = []  # each build's; the contract counts what reached "the wiki"


@contextlib.asynccontextmanager
async def build() -> AsyncIterator[MCPServer]:
    # No check needs MediaWiki (whoami is the caller's identity, writes refused at the gate or for want of
    # an account): each request the client sends is recorded and refused, so the contract can count them.
    TRANSPORTS.append(UnreachableBackend())
    async with MediaWikiClient("http://127.0.0.1:9", "B@x", "p", transport=TRANSPORTS[-1]) as backend:
        yield build_server(SETTINGS, backend)


@pytest.mark.parametrize("check", CHECKS)
async def test_contract(check: str) -> None:
    stdio_env = {"FLEET_WIKI_URL": "http://127.0.0.1:9", "FLEET_WIKI_BOT_USERNAME": "B@x"}
    stdio_env["FLEET_WIKI_BOT_PASSWORD"] = "p"
    readme = Path(__file__).parents[1] / "README.md"
    contract = Contract(
        "wiki",
        SETTINGS,
        build,
        readme,
        stdio_env=stdio_env,
        backend_requests=lambda: len(TRANSPORTS[-1].requests),
    )
    await check_server(contract, check)
