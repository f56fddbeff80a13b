"""Docs show code from tested files, never typed twice.

A fenced block right after `<!-- snippet: PATH -->` (or `<!-- snippet: PATH#NAME -->`) must equal
that file (or the region between `--8<-- [start:NAME]` and `--8<-- [end:NAME]` lines in it).
A fenced block right after `<!-- snippet-diff: NN FILE -->` must equal the computed "what changed" diff of
workshop chapter NN for `workshop/work/FILE` (from the chapter's start state to its end state).
The lines between `<!-- agenda: en -->` (or `zh-TW`) and `<!-- /agenda -->` must be the workshop agenda
generated from `workshop/chapters.toml`; those between `<!-- timing: en -->` and `<!-- /timing -->`, the
day plans of workshop/INSTRUCTOR.md, generated from it too.

    uv run python scripts/snippets.py          # check every tracked Markdown file; exit 1 if stale
    uv run python scripts/snippets.py --write  # rewrite stale blocks from their sources
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(
    r"<!-- (?:snippet: (?P<path>[^#\s]+)(?:#(?P<name>[\w-]+))?"
    r"|snippet-diff: (?P<chapter>\d\d) (?P<file>\S+)) -->\n"
    r"(?P<fence>```+)(?P<lang>[^\n]*)\n"
)


AGENDA = re.compile(
    r"<!-- (?P<kind>agenda|timing): (?P<lang>en|zh-TW) -->\n(?P<body>.*?)<!-- /(?P=kind) -->\n", re.DOTALL
)


def agenda(lang: str, kind: str = "agenda") -> str:
    """The workshop agenda table (kind "timing": the instructor's day plans), from workshop/chapters.toml."""
    from fleet_frontdoor.workshop import load_workshop
    from fleet_frontdoor.workshop.chapters import agenda as table
    from fleet_frontdoor.workshop.chapters import timing

    return (timing if kind == "timing" else table)(load_workshop(ROOT), lang)


def chapter_diff(chapter: str, file: str) -> str:
    """The "what changed" diff of a workshop chapter, computed from the chapter states (never typed)."""
    from fleet_frontdoor.workshop import changed, load_workshop

    workshop = load_workshop(ROOT)
    return changed(workshop, workshop.chapter(chapter), file)


def source(path: str, name: str | None) -> str:
    text = (ROOT / path).read_text()
    if name is None:
        return text
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if f"--8<-- [start:{name}]" in line)
    end = next(i for i, line in enumerate(lines) if f"--8<-- [end:{name}]" in line)
    block = lines[start + 1 : end]
    indent = min((len(line) - len(line.lstrip()) for line in block if line.strip()), default=0)
    return "".join(line[indent:] if line.strip() else line.lstrip(" ") for line in block).strip("\n") + "\n"


def sync(markdown: Path, write: bool) -> list[str]:
    """Return the stale snippets of one Markdown file (and rewrite them when asked)."""
    text = markdown.read_text()
    out, pos, stale = [], 0, []
    for match in MARKER.finditer(text):
        close = text.index("\n" + match["fence"] + "\n", match.end() - 1)
        shown = text[match.end() : close + 1]
        if match["chapter"]:
            wanted = chapter_diff(match["chapter"], match["file"])
            what = f"diff {match['chapter']} {match['file']}"
        else:
            wanted = source(match["path"], match["name"])
            what = f"{match['path']}{'#' + match['name'] if match['name'] else ''}"
        if not wanted.endswith("\n"):
            wanted += "\n"
        if shown != wanted:
            stale.append(f"{markdown.relative_to(ROOT)}: {what}")
        out.append(text[pos : match.end()] + wanted)
        pos = close + 1
    out.append(text[pos:])
    result = "".join(out)
    for found in AGENDA.finditer(result):
        kind, lang = found["kind"], found["lang"]
        if found["body"] != (table := agenda(lang, kind)):
            stale.append(f"{markdown.relative_to(ROOT)}: {kind} {lang}")
            result = result.replace(found.group(0), f"<!-- {kind}: {lang} -->\n{table}<!-- /{kind} -->\n")
    if write and stale:
        markdown.write_text(result)
    return stale


def markdown_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in listed.stdout.split()]


def main() -> int:
    write = "--write" in sys.argv[1:]
    stale = [item for md in markdown_files() for item in sync(md, write)]
    for item in stale:
        print(("rewrote " if write else "stale snippet: ") + item)
    return 1 if stale and not write else 0


if __name__ == "__main__":
    sys.exit(main())
