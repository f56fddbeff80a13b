"""Every code block the docs mark as a snippet is the tested file it names (scripts/snippets.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_doc_snippets_match_their_tested_sources() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "snippets.py")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_stale_snippet_is_caught(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import snippets
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    doc = ROOT / "tests" / f"_stale_{tmp_path.name}.md"
    doc.write_text("<!-- snippet: scripts/try-fleet -->\n```bash\necho typed by hand\n```\n")
    try:
        assert snippets.sync(doc, write=False) == [f"tests/{doc.name}: scripts/try-fleet"]
        assert snippets.sync(doc, write=True)
        assert snippets.sync(doc, write=False) == []
        assert "curl -si" in doc.read_text()
    finally:
        doc.unlink()
