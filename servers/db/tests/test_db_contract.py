"""The fleet contract (fleet_core.testing.contract), run against fleet-db."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp.server.mcpserver import MCPServer

from fleet_core.testing import settings_for
from fleet_core.testing.contract import CHECKS, Contract, check_server
from fleet_db.backend import Database
from fleet_db.server import build_server
from fleet_db.settings import DbSettings

SETTINGS = settings_for(DbSettings, name="db")


@contextlib.asynccontextmanager
async def build() -> AsyncIterator[MCPServer]:
    # No check reaches PostgreSQL (the pool opens lazily): the contract is about the gate and the surface.
    yield build_server(SETTINGS, Database(SETTINGS, "postgresql://fleet@127.0.0.1:9/none"))


@pytest.mark.parametrize("check", CHECKS)
async def test_contract(check: str) -> None:
    await check_server(Contract("db", SETTINGS, build, Path(__file__).parents[1] / "README.md"), check)
