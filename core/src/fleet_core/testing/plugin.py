"""pytest plugin loaded for the whole repo (pyproject addopts): shared fixtures."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

# The shared contract suite asserts from inside fleet-core: have pytest explain its failures too.
pytest.register_assert_rewrite("fleet_core.testing.contract")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(record.getMessage()))


@pytest.fixture
def audit_lines() -> Iterator[list[dict[str, Any]]]:
    """Every audit line emitted during the test, parsed."""
    logger = logging.getLogger("fleet.audit")
    handler = _Collect()
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
