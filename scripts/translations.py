"""The workshop's 繁體中文 pages are kept in step with the English ones, by hand.

Every English page `workshop/**/X.md` has a sibling `X.zh-TW.md` whose first line records, invisibly,
the hashes of the English sections that translation reflects:

    <!-- translation: source=README.md sections=top:1a2b3c4d,goal:…,type-this:…,… -->

A section is the text under one `## ` heading (`top` is everything before the first). Code blocks filled
by the snippet mechanism are left out of the hash: they are the same in both languages by construction
(and the generated agenda and timing tables, which each language generates for itself).

    uv run python scripts/translations.py            # status: missing, outdated or misshapen pages; exit 1
    uv run python scripts/translations.py stamp FILE # after updating FILE's translation: record the hashes
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

from snippets import AGENDA, MARKER

ROOT = Path(__file__).resolve().parents[1]
RECORD = re.compile(r"\A<!-- translation: source=(?P<source>\S+) sections=(?P<sections>\S*) -->\n")
HEADING = re.compile(r"^(#{1,6}) ", re.MULTILINE)


def slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


def _without_snippets(text: str) -> str:
    out, pos = [], 0
    for match in MARKER.finditer(text):
        close = text.index("\n" + match["fence"] + "\n", match.end() - 1)
        out.append(text[pos : match.end()])
        pos = close + 1
    out.append(text[pos:])
    return AGENDA.sub(lambda m: f"<!-- {m['kind']}: {m['lang']} -->\n<!-- /{m['kind']} -->\n", "".join(out))


def sections(text: str) -> list[tuple[str, str]]:
    """(key, body) of each `## ` section of an English page, `top` first."""
    parts = re.split(r"^## (.+)\n", _without_snippets(text), flags=re.MULTILINE)
    found = [("top", parts[0])]
    found += [(slug(parts[i]), parts[i + 1]) for i in range(1, len(parts), 2)]
    return found


def digests(english: str) -> list[tuple[str, str]]:
    return [(key, hashlib.sha256(body.encode()).hexdigest()[:8]) for key, body in sections(english)]


def record_line(source: str, english: str) -> str:
    return (
        f"<!-- translation: source={source} sections="
        + ",".join(f"{k}:{d}" for k, d in digests(english))
        + " -->\n"
    )


def translation_of(page: Path) -> Path:
    return page.with_name(page.name.removesuffix(".md") + ".zh-TW.md")


def headings(text: str) -> list[int]:
    body = re.sub(r"^```.*?^```", "", _without_snippets(text), flags=re.MULTILINE | re.DOTALL)
    return [len(m.group(1)) for m in HEADING.finditer(body)]


def problems(page: Path, root: Path = ROOT) -> list[str]:
    """What is wrong with the translation of one English page (empty: it is current)."""
    zh = translation_of(page)
    name = zh.relative_to(root)
    if not zh.is_file():
        return [f"{name}: missing (translate {page.relative_to(root)})"]
    english, chinese = page.read_text(encoding="utf-8"), zh.read_text(encoding="utf-8")
    record = RECORD.match(chinese)
    if record is None:
        return [f"{name}: no translation record on its first line (run `stamp` after translating)"]
    found = []
    if record["source"] != page.name:
        found.append(f"{name}: records source={record['source']}, not {page.name}")
    recorded = dict(item.split(":", 1) for item in record["sections"].split(",") if ":" in item)
    for key, digest in digests(english):
        if key not in recorded:
            found.append(f"{name}: section '{key}' of {page.name} is not translated")
        elif recorded[key] != digest:
            found.append(f"{name}: section '{key}' changed in {page.name} since it was translated")
    for key in sorted(set(recorded) - {k for k, _ in digests(english)}):
        found.append(f"{name}: translates section '{key}', which {page.name} no longer has")
    if headings(english) != headings(chinese):
        found.append(f"{name}: headings {headings(chinese)} differ from {page.name}'s {headings(english)}")
    return found


def english_pages() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "workshop/*.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # a chapter's start/ and solution/ hold the attendee's files (a server's README), not workshop pages
    pages = [
        n for n in listed if "workshop/work/" not in n and n.split("/")[2:3] not in (["start"], ["solution"])
    ]
    return [ROOT / name for name in pages if not name.endswith(".zh-TW.md")]


def stamp(zh: Path) -> None:
    english = zh.with_name(zh.name.removesuffix(".zh-TW.md") + ".md")
    text = zh.read_text(encoding="utf-8")
    text = RECORD.sub("", text, count=1)
    zh.write_text(record_line(english.name, english.read_text(encoding="utf-8")) + text, encoding="utf-8")


def main(argv: list[str]) -> int:
    if argv[:1] == ["stamp"]:
        for name in argv[1:]:
            stamp(Path(name).resolve())
            print(f"stamped {name}")
        return 0
    found = [problem for page in english_pages() for problem in problems(page)]
    for problem in found:
        print(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
