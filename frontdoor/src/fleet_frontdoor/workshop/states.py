"""Chapter states, computed: the repo stores per chapter only the whole files the chapter changes.

    end(N)   = start(N) with chapter N's `solution/` files (and `solution_from` files) laid over it
    start(N) = end(N-1) with chapter N's `start/` files (a starter, when there is one) laid over it

A state maps a path inside `workshop/work/` to the file's bytes. `catch_up` backs up the attendee's
work folder and writes a state into it; `changed` is the computed "what changed" diff of a chapter.
"""

from __future__ import annotations

import difflib
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .chapters import WORK, Chapter, Workshop, WorkshopError

__all__ = [
    "KEEP",
    "CatchUp",
    "State",
    "catch_up",
    "changed",
    "end_state",
    "read_tree",
    "solve",
    "start_state",
    "write_state",
]

State = dict[str, bytes]
# The machine's own record (`fleet workshop doctor` writes it): catch-up neither replaces nor removes it.
KEEP = frozenset({"doctor.json"})
_SKIP = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def read_tree(folder: Path) -> State:
    """Every file under `folder` (caches left out), by POSIX path relative to it."""
    if not folder.is_dir():
        return {}
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not _SKIP & set(path.relative_to(folder).parts)
    }


_MARKER = re.compile(rb"^[ \t]*# --8<-- \[(?:start|end):[\w-]+\][ \t]*\n", re.MULTILINE)
_BLANKS = re.compile(rb"\n{4,}")


def _overlay(folder: Path) -> State:
    """A chapter's start/ or solution/ files as the attendee gets them: without the snippet markers
    (`# --8<-- [start:NAME]`) that let the README show regions of them."""
    return {name: _clean(data) for name, data in read_tree(folder).items()}


def _clean(data: bytes) -> bytes:
    return _BLANKS.sub(b"\n\n\n", _MARKER.sub(b"", data))


def _solution(ws: Workshop, chapter: Chapter) -> State:
    files = _overlay(ws.root / chapter.folder / "solution")
    for target, source in chapter.solution_from.items():
        path = ws.root / source
        if not path.is_file():
            raise WorkshopError(f"chapter {chapter.id}: solution_from names {source}, which does not exist")
        files[target] = _clean(path.read_bytes())
    return files


def start_state(ws: Workshop, chapter: Chapter) -> State:
    state: State = {}
    for earlier in ws.before(chapter):
        state |= _overlay(ws.root / earlier.folder / "start") | _solution(ws, earlier)
    return state | _overlay(ws.root / chapter.folder / "start")


def end_state(ws: Workshop, chapter: Chapter) -> State:
    return start_state(ws, chapter) | _solution(ws, chapter)


def write_state(work: Path, state: State, keep: frozenset[str] = frozenset()) -> tuple[list[str], list[str]]:
    """Make `work` hold exactly `state` (caches and `keep` aside). Returns (written, removed) paths."""
    current = {k: v for k, v in read_tree(work).items() if k not in keep}
    state = {k: v for k, v in state.items() if k not in keep}
    removed = sorted(set(current) - set(state))
    for name in removed:
        (work / name).unlink()
    written = []
    for name, content in sorted(state.items()):
        if current.get(name) != content:
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_bytes(content)
            written.append(name)
    return written, removed


@dataclass(frozen=True)
class CatchUp:
    chapter: Chapter
    backup: Path | None  # where the attendee's previous files went (None: there was nothing to keep)
    written: list[str]
    removed: list[str]


def catch_up(ws: Workshop, chapter: Chapter, *, now: datetime | None = None) -> CatchUp:
    """Back up the attendee's `workshop/work/`, then put it at the start of `chapter`."""
    return _put(ws, chapter, start_state(ws, chapter), now)


def _put(ws: Workshop, chapter: Chapter, state: State, now: datetime | None) -> CatchUp:
    work = ws.root / WORK
    target = {k: v for k, v in state.items() if k not in KEEP}
    current = {k: v for k, v in read_tree(work).items() if k not in KEEP}
    backup = None
    if current and current != target:
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
        backup = ws.root / ".fleet" / "workshop" / f"backup-{stamp}"
        for name in current:
            (backup / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(work / name, backup / name)
    work.mkdir(parents=True, exist_ok=True)
    written, removed = write_state(work, target, keep=KEEP)
    return CatchUp(chapter, backup, written, removed)


def solve(ws: Workshop, chapter: Chapter, *, now: datetime | None = None) -> CatchUp:
    """Back up the attendee's `workshop/work/`, then put it at the end of `chapter` (its solution)."""
    return _put(ws, chapter, end_state(ws, chapter), now)


def changed(ws: Workshop, chapter: Chapter, name: str) -> str:
    """The unified diff of one work file from the start to the end of `chapter` (computed, never typed)."""
    before = start_state(ws, chapter).get(name, b"").decode().splitlines(keepends=True)
    after = end_state(ws, chapter).get(name)
    if after is None:
        raise WorkshopError(f"chapter {chapter.id} does not end with {WORK}/{name}")
    lines = difflib.unified_diff(
        before,
        after.decode().splitlines(keepends=True),
        f"a/{WORK}/{name}" if before else "/dev/null",
        f"b/{WORK}/{name}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
