"""The fleet contract (fleet_core.testing.contract), run against fleet-gitea on its spec-checked fake."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp.server.mcpserver import MCPServer

from fleet_core.testing.contract import CHECKS, Contract, check_server
from fleet_gitea.backend import GiteaClient
from fleet_gitea.fake import FakeGitea, serve_fake
from fleet_gitea.server import build_server
from fleet_gitea.testing import TOKEN, VALID, gitea_settings

SETTINGS = gitea_settings("http://127.0.0.1:9")  # the URL of the fake is only known once it serves


FAKES: list[FakeGitea] = []  # the fake each build serves (the contract counts its requests)


@contextlib.asynccontextmanager
async def build() -> AsyncIterator[MCPServer]:
    FAKES.append(FakeGitea())
    async with serve_fake(FAKES[-1]) as url:
        client = GiteaClient(url, TOKEN, timeout=5.0)
        try:
            yield build_server(gitea_settings(url), client)
        finally:
            await client.aclose()


@pytest.mark.parametrize("check", CHECKS)
async def test_contract(check: str) -> None:
    contract = Contract(
        "gitea",
        SETTINGS,
        build,
        Path(__file__).parents[1] / "README.md",
        stdio_env={"FLEET_GITEA_URL": "http://127.0.0.1:9", "FLEET_GITEA_TOKEN": TOKEN},
        calls=VALID,
        write_call=("create_issue", VALID["create_issue"]),
        backend_requests=lambda: len(FAKES[-1].requests),
    )
    await check_server(contract, check)
