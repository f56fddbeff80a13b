"""Fixtures for fleet-gitea tests (helpers in fleet_gitea.testing).

The fake Gitea and the MCP server in front of it start once per session (building 39 tools and two
uvicorn servers per test would dominate the run); each test gets the fake reset to its seeded state
and must leave no spec violation behind. Those servers live on pytest-asyncio's session event loop,
so every async test here runs on that loop too (set below, no marker to write).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from fleet_core.testing import in_own_task
from fleet_gitea.fake import FakeGitea
from fleet_gitea.testing import TOKEN, Harness, harness

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # pytest calls this hook with every collected item, not only this directory's.
    on_session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if pytest_asyncio.is_async_test(item) and item.path.is_relative_to(_HERE):
            item.add_marker(on_session_loop, append=False)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def shared() -> AsyncIterator[Harness]:
    async with in_own_task(harness(FakeGitea(TOKEN))) as running:
        yield running


@pytest.fixture
def fake(shared: Harness) -> FakeGitea:
    shared.fake.reset()
    return shared.fake


@pytest.fixture
def h(shared: Harness, fake: FakeGitea) -> Iterator[Harness]:
    yield shared
    # Every request the server made must have matched the official spec subset.
    assert fake.violations == []
