"""Fixtures for fleet-gitea tests (helpers in fleet_gitea.testing).

The fake Gitea and the MCP server in front of it start once per session (building 39 tools and two
uvicorn servers per test would dominate the run); each test gets the fake reset to its seeded state
and must leave no spec violation behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fleet_gitea.fake import FakeGitea
from fleet_gitea.testing import TOKEN, Harness, harness


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
async def shared(anyio_backend: str) -> AsyncIterator[Harness]:
    async with harness(FakeGitea(TOKEN)) as running:
        yield running


@pytest.fixture
def fake(shared: Harness) -> FakeGitea:
    shared.fake.reset()
    return shared.fake


@pytest.fixture
async def h(shared: Harness, fake: FakeGitea) -> AsyncIterator[Harness]:
    yield shared
    # Every request the server made must have matched the official spec subset.
    assert fake.violations == []
