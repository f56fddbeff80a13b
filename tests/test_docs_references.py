"""Docs and code cite only what a clone has: "DESIGN §N" sections of docs/design.md and the
security checklist ids (G7, S1, C14, …, and tests named test_g7_…) of docs/checklist.md."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DESIGN_REF = re.compile(r"DESIGN\s+§\s*(\d+(?:\.\d+)?)")
CHECKLIST_ID = re.compile(r"(?<![\w/.-])([AGSCP])(\d{1,2})(?![\w])")
TEST_ID = re.compile(r"\bdef test_(?:row\d+[a-c]?_)?([gscap])(\d{1,2})_")


def _sources() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py", "*.md", "*.toml", "*.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [ROOT / name for name in listed if (ROOT / name).is_file()]


def _design_sections() -> set[str]:
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    return set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", text, re.MULTILINE))


def _checklist_ids() -> set[str]:
    text = (ROOT / "docs" / "checklist.md").read_text(encoding="utf-8")
    return set(re.findall(r"\*\*([AGSCP]\d{1,2})\*\*", text))


def test_every_design_section_cited_exists() -> None:
    sections = _design_sections()
    assert {"3", "3.1", "3.2", "3.3", "5", "6"} <= sections
    missing = [
        f"{path.relative_to(ROOT)}: DESIGN §{ref}"
        for path in _sources()
        for ref in DESIGN_REF.findall(path.read_text(encoding="utf-8", errors="replace"))
        if ref not in sections
    ]
    assert missing == []


def test_every_checklist_id_cited_is_defined() -> None:
    defined = _checklist_ids()
    assert {"G1", "G24", "S1", "S9", "C1", "C17", "A1", "A16", "P1", "P6"} <= defined
    undefined = []
    for path in _sources():
        if path.name == "checklist.md":
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        cited = {a + b for a, b in CHECKLIST_ID.findall(text)} | {
            a.upper() + b for a, b in TEST_ID.findall(text)
        }
        undefined += [f"{path.relative_to(ROOT)}: {ref}" for ref in sorted(cited - defined)]
    assert undefined == []
