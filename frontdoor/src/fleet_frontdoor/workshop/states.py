"""Chapter states, computed: the repo stores per chapter only the whole files the chapter changes.

    end(N)   = start(N) with chapter N's `solution/` files (and `solution_from` files) laid over it
    start(N) = end(N-1) with chapter N's `start/` files (a starter, when there is one) laid over it

A state maps a path inside `workshop/work/` to the file's bytes, except paths under `servers/`: from
chapter 06 on, the attendee's own server lives in the repo where `fleet new` put it (`servers/notes/`),
and a state's files there are laid at the repo root. `catch_up` backs up the attendee's files and writes
a state (running the chapter's `fleet new` first when fleet.toml lacks that server); `changed` is the
computed "what changed" diff of a chapter.
"""

from __future__ import annotations

import difflib
import re
import shutil
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .chapters import WORK, Chapter, Workshop, WorkshopError

__all__ = [
    "KEEP",
    "REPO",
    "CatchUp",
    "State",
    "catch_up",
    "changed",
    "end_state",
    "lay",
    "read_tree",
    "solve",
    "start_state",
    "write_state",
]

State = dict[str, bytes]
# The machine's own record (`fleet workshop doctor` writes it): catch-up neither replaces nor removes it.
KEEP = frozenset({"doctor.json"})
# a state's paths under this folder are repo files (the attendee's own server), not workshop/work/ files
REPO = "servers/"
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
    """Without the markers and the blank lines they leave: at most two in a row (PEP 8's two between
    top-level definitions) and none at the end, where a region's last marker often stood, so the files
    the attendee gets are as `ruff format` writes them (tests/test_workshop.py runs ruff over every state)."""
    cleaned = _BLANKS.sub(b"\n\n\n", _MARKER.sub(b"", data))
    return cleaned.rstrip(b"\n") + b"\n" if cleaned.endswith(b"\n\n") else cleaned


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


def _split(state: State) -> tuple[State, State]:
    """(the workshop/work/ files, the repo files) of a state."""
    work = {k: v for k, v in state.items() if not k.startswith(REPO)}
    return work, {k: v for k, v in state.items() if k.startswith(REPO)}


def lay(root: Path, state: State, keep: frozenset[str] = frozenset()) -> tuple[list[str], list[str]]:
    """Make `root`'s workshop/work/ hold exactly the state's work files and write its repo files at the
    repo root (other repo files are left alone). Returns (written, removed) paths, as in the state."""
    work_files, repo_files = _split(state)
    (root / WORK).mkdir(parents=True, exist_ok=True)
    written, removed = write_state(root / WORK, work_files, keep)
    for name, content in sorted(repo_files.items()):
        path = root / name
        if not path.is_file() or path.read_bytes() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            written.append(name)
    return written, removed


def _scaffold(ws: Workshop, chapters: tuple[Chapter, ...]) -> None:
    """Run the `fleet new` of the chapters done so far whose server fleet.toml does not have yet."""
    for chapter in chapters:
        if chapter.scaffold is None:
            continue
        # the names only: tomllib, not the manifest model, which brings in fleet_core and the MCP SDK
        # (seconds of start-up for every `fleet workshop catch-up`); `fleet new` validates the manifest
        with (ws.root / "fleet.toml").open("rb") as manifest:
            names = {server.get("name") for server in tomllib.load(manifest).get("servers", [])}
        if chapter.scaffold.name not in names:
            from ..scaffold import create

            create(ws.root, chapter.scaffold.name, item=chapter.scaffold.item, run_tests=False)


@dataclass(frozen=True)
class CatchUp:
    chapter: Chapter
    backup: Path | None  # where the attendee's previous files went (None: there was nothing to keep)
    written: list[str]
    removed: list[str]


def catch_up(ws: Workshop, chapter: Chapter, *, now: datetime | None = None) -> CatchUp:
    """Back up the attendee's files, then put the tree at the start of `chapter`."""
    _scaffold(ws, ws.before(chapter))
    return _put(ws, chapter, start_state(ws, chapter), now)


def _put(ws: Workshop, chapter: Chapter, state: State, now: datetime | None) -> CatchUp:
    work = ws.root / WORK
    target, repo_files = _split({k: v for k, v in state.items() if k not in KEEP})
    current = {k: v for k, v in read_tree(work).items() if k not in KEEP}
    # the attendee's own versions of the repo files the state replaces
    replaced = [
        k for k, v in repo_files.items() if (ws.root / k).is_file() and (ws.root / k).read_bytes() != v
    ]
    backup = None
    if (current and current != target) or replaced:
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
        backup = ws.root / ".fleet" / "workshop" / f"backup-{stamp}"
        copies = [(work / name, backup / name) for name in current if current != target]
        for source, dest in copies + [(ws.root / name, backup / name) for name in replaced]:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)
    written, removed = lay(ws.root, target | repo_files, keep=KEEP)
    return CatchUp(chapter, backup, written, removed)


def solve(ws: Workshop, chapter: Chapter, *, now: datetime | None = None) -> CatchUp:
    """Back up the attendee's files, then put the tree at the end of `chapter` (its solution)."""
    _scaffold(ws, (*ws.before(chapter), chapter))
    return _put(ws, chapter, end_state(ws, chapter), now)


def changed(ws: Workshop, chapter: Chapter, name: str) -> str:
    """The unified diff of one work file from the start to the end of `chapter` (computed, never typed)."""
    before = start_state(ws, chapter).get(name, b"").decode().splitlines(keepends=True)
    after = end_state(ws, chapter).get(name)
    path = name if name.startswith(REPO) else f"{WORK}/{name}"
    if after is None:
        raise WorkshopError(f"chapter {chapter.id} does not end with {path}")
    lines = difflib.unified_diff(
        before,
        after.decode().splitlines(keepends=True),
        f"a/{path}" if before else "/dev/null",
        f"b/{path}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
