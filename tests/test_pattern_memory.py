"""Every `pattern=` of the servers and the core compiles to a small regex (issue 18 item 3: <= 60 MB
RSS per server process).

pydantic compiles each Field pattern with Rust's `regex` crate when the tool or model is built, and
keeps it for the life of the process. A Unicode class under a counted repetition expands into one
copy of the class per count: `^[\\w:.-]{1,200}$` held 16 MB in every fleet-sentry worker,
`^[\\w.-]{1,100}$` 6 MB in fleet-gitea. Write the same rule as `^[\\w:.-]+$` with `max_length=200`.

Every pattern literal in the sources is compiled in one fresh interpreter, which reports how much
its resident memory grew for each; no timing is involved.
"""

from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "core" / "src", *sorted((ROOT / "servers").glob("*/src"))]
LIMIT_MB = 1.0  # the patterns in use today cost 0.00-0.07 MB each

MEASURE = """
import json, sys
from typing import Annotated
from pydantic import Field, TypeAdapter

def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024

TypeAdapter(Annotated[str, Field(pattern="^warm-up$")])
grown = {}
for pattern in json.loads(sys.stdin.read()):
    before = rss_mb()
    TypeAdapter(Annotated[str, Field(pattern=pattern)])
    grown[pattern] = rss_mb() - before
print(json.dumps(grown))
"""


def _patterns() -> dict[str, list[str]]:
    """Each `pattern=` string literal (a keyword argument) in the sources, with where it is."""
    found: dict[str, list[str]] = {}
    for source in SOURCES:
        for path in sorted(source.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Call):
                    continue
                for keyword in node.keywords:
                    value = keyword.value
                    if (
                        keyword.arg == "pattern"
                        and isinstance(value, ast.Constant)
                        and isinstance(value.value, str)
                    ):
                        where = f"{path.relative_to(ROOT)}:{value.lineno}"
                        found.setdefault(value.value, []).append(where)
    return found


def test_the_scan_finds_the_servers_patterns() -> None:
    patterns = _patterns()
    assert len(patterns) >= 10
    assert any("fleet_sentry" in where for places in patterns.values() for where in places)


def test_every_pattern_compiles_small() -> None:
    patterns = _patterns()
    done = subprocess.run(
        [sys.executable, "-c", MEASURE],
        input=json.dumps(sorted(patterns)),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    grown: dict[str, float] = json.loads(done.stdout)
    too_big = {f"{p} ({', '.join(patterns[p])})": round(mb, 1) for p, mb in grown.items() if mb > LIMIT_MB}
    assert not too_big, f"patterns that compile to more than {LIMIT_MB} MB (MB each): {too_big}"


def test_a_counted_unicode_class_is_caught() -> None:
    """The check measures what it claims: the shape that cost 16 MB is over the limit."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE],
        input=json.dumps([r"^[\w:.-]{1,200}$", r"^[\w:.-]+$"]),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    grown = json.loads(done.stdout)
    assert grown[r"^[\w:.-]{1,200}$"] > LIMIT_MB
    assert grown[r"^[\w:.-]+$"] <= LIMIT_MB
