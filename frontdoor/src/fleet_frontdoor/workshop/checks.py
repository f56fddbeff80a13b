"""Running a chapter's checks: ✓/✗ per check, with the hint from `workshop/hints.toml` in the
attendee's language. The checks themselves are in `chapter_checks_a.py` (part A, chapters 00-05) and
`chapter_checks_b.py` (part B, 06-13), listed together by `chapter_checks.CHECKS`."""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .chapters import WorkshopError

__all__ = ["Check", "CheckFailed", "Hint", "Result", "Target", "load_hints", "run_checks"]

LANGS = ("en", "zh-TW")


@dataclass(frozen=True)
class Target:
    """What a check looks at: the repo (fleet.toml, core/…) and the attendee's work folder."""

    root: Path
    work: Path


class CheckFailed(Exception):
    """A check's finding, said plainly (what was expected, what was found)."""


@dataclass(frozen=True)
class Check:
    id: str
    run: Callable[[Target], None]


@dataclass(frozen=True)
class Hint:
    title: str
    hint: str


@dataclass(frozen=True)
class Result:
    id: str
    ok: bool | None  # None: not run, an earlier check failed
    detail: str = ""


def load_hints(root: Path) -> dict[str, dict[str, Hint]]:
    """check id -> language -> (title, hint). Every check has both languages (a test holds it to that)."""
    data = tomllib.loads((root / "workshop" / "hints.toml").read_text(encoding="utf-8"))
    try:
        return {
            check: {lang: Hint(str(texts[lang]["title"]), str(texts[lang]["hint"])) for lang in LANGS}
            for check, texts in data.items()
        }
    except (KeyError, TypeError) as exc:
        raise WorkshopError(
            f"workshop/hints.toml: every check needs en and zh-TW title and hint ({exc})"
        ) from exc


def run_checks(checks: tuple[Check, ...], target: Target) -> list[Result]:
    """Run in order; after the first failure the rest are not run (they build on it)."""
    results: list[Result] = []
    # The attendee's server audits each call the checks make: not news here. (A filter, not `disabled`:
    # uvicorn's logging config re-enables existing loggers.)
    audit = logging.getLogger("fleet.audit")
    audit.addFilter(_drop)
    try:
        _run_all(checks, target, results)
    finally:
        audit.removeFilter(_drop)
    return results


def _drop(record: logging.LogRecord) -> bool:
    return False


def _run_all(checks: tuple[Check, ...], target: Target, results: list[Result]) -> None:
    for check in checks:
        if results and results[-1].ok is not True:
            results.append(Result(check.id, None))
            continue
        try:
            check.run(target)
        except CheckFailed as exc:
            results.append(Result(check.id, False, str(exc)))
        except AssertionError as exc:
            results.append(Result(check.id, False, str(exc) or "an assertion failed"))
        else:
            results.append(Result(check.id, True))
