"""`fleet workshop …` starts without the MCP SDK: an attendee runs it dozens of times a day (and the CI
dry-run 4-5 times a chapter), and importing fleet_core with the SDK under it costs ~2 s of CPU each time.
The commands that need the manifest or a server import them when they run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _modules_after(code: str, cwd: Path) -> set[str]:
    """The modules a fresh interpreter has loaded after running `code` (which must print nothing)."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_fleet_command_and_its_workshop_commands_start_without_the_mcp_sdk(tmp_path: Path) -> None:
    parsed = (
        "from fleet_frontdoor.cli import build_parser\n"
        "args = build_parser().parse_args(['workshop', 'catch-up', '01'])\n"
        "assert args.workshop_command == 'catch-up'"
    )
    loaded = _modules_after(parsed, ROOT)
    assert "fleet_frontdoor.cli" in loaded
    assert not {"mcp", "fleet_core", "fleet_frontdoor.manifest"} & loaded

    # catch-up past part A, in a copy of the workshop: the names of fleet.toml's servers come from
    # tomllib (the scaffold chapter's server is registered, so no `fleet new` runs)
    shutil.copytree(ROOT / "workshop", tmp_path / "workshop", ignore=shutil.ignore_patterns("work"))
    (tmp_path / "fleet.toml").write_text('[[servers]]\nname = "notes"\n', encoding="utf-8")
    caught_up = (
        "from fleet_frontdoor.workshop import load_workshop\n"
        "from fleet_frontdoor.workshop.states import _scaffold\n"
        "ws = load_workshop()\n"
        "scaffold = [c for c in ws.chapters if c.scaffold is not None]\n"
        "assert [c.scaffold.name for c in scaffold] == ['notes'], scaffold\n"
        "_scaffold(ws, ws.chapters)"
    )
    assert not {"mcp", "fleet_core", "fleet_frontdoor.manifest", "fleet_frontdoor.scaffold"} & _modules_after(
        caught_up, tmp_path
    )


def test_a_manifest_error_is_still_one_readable_line(tmp_path: Path) -> None:
    """The manifest is imported by the command now, not by the CLI module: its errors still print as
    `fleet: …` with exit 1, not a traceback."""
    (tmp_path / "fleet.toml").write_text("[gateway]\norigin = 'not a url'\n", encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fleet_frontdoor.cli",
            "--manifest",
            str(tmp_path / "fleet.toml"),
            "gateway",
            "kong",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith("fleet: "), done.stderr
    assert "Traceback" not in done.stderr
