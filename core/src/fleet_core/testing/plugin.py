"""pytest plugin loaded for the whole repo (pyproject addopts) and every fleet server's tests: shared
fixtures, and the one async test mode checked at start-up."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

# The shared contract suite asserts from inside fleet-core: have pytest explain its failures too.
pytest.register_assert_rewrite("fleet_core.testing.contract")


def pytest_configure(config: pytest.Config) -> None:
    """Async tests run on pytest-asyncio in auto mode and on nothing else (issue 14 item 7): a second
    runner would take `async def` tests under its own marker, with its own loop and fixture rules."""
    problems: list[str] = []
    if not config.pluginmanager.has_plugin("asyncio"):
        problems.append("pytest-asyncio is not installed (add it to the dev dependencies)")
    elif (config.getoption("asyncio_mode", None) or config.getini("asyncio_mode")) != "auto":
        problems.append('set asyncio_mode = "auto" in [tool.pytest.ini_options]')
    if config.pluginmanager.has_plugin("anyio"):
        problems.append("the anyio pytest plugin is on: add `-p no:anyio` to addopts")
    if problems:
        raise pytest.UsageError("fleet tests run on pytest-asyncio (auto mode) only: " + "; ".join(problems))


@pytest.fixture
def audit_lines() -> Iterator[list[dict[str, Any]]]:
    """Every audit line emitted during the test, parsed."""
    from fleet_core.testing import capture_audit  # here: the plugin loads before any test needs it

    with capture_audit() as audit:
        yield audit.lines
