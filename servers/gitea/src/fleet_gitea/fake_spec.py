"""The Gitea API v1 spec subset the project carries, checked with the shared spec checker.

`_spec/gitea-subset.json` is extracted from the official swagger by `scripts/extract_spec.py`; the fake
Gitea (the fake/ package, on `fleet_core.specfake.SpecFake`) runs every request the server makes and
every answer it gives through this checker (Swagger 2 dialect, strict: unknown body and answer fields
are violations), so a call the real API wouldn't accept, or an answer it wouldn't give, fails the tests.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from fleet_core.specfake import Match, Operation, Swagger2
from fleet_core.specfake import SpecChecker as _SpecChecker

__all__ = ["Match", "Operation", "SpecChecker", "load_subset"]

# Gitea routes these as wildcards that may span slashes.
WILDCARDS = ("filepath", "basehead")


@cache
def load_subset() -> dict[str, Any]:
    subset: dict[str, Any] = json.loads(
        resources.files("fleet_gitea").joinpath("_spec/gitea-subset.json").read_text()
    )
    return subset


class SpecChecker(_SpecChecker):
    """The shared checker over the carried Gitea subset."""

    def __init__(self, subset: dict[str, Any] | None = None) -> None:
        document = subset or load_subset()
        super().__init__(document, Swagger2(document), wildcards=WILDCARDS)
