"""scripts/: what the set-up leaves behind on the machine, and what try-fleet says when the fleet is down."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fleet_core.testing import free_port

ROOT = Path(__file__).resolve().parents[1]


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)


# CI runs ./scripts/test as root on a clean Debian machine, so this runs there.
@pytest.mark.skipif(os.geteuid() != 0, reason="the set-up fragments install system packages: root only")
def test_the_mediawiki_setup_leaves_no_apache_enabled_or_running() -> None:
    assert _run("bash", str(ROOT / "scripts" / "setup.d" / "30-mediawiki.sh")).returncode == 0
    assert Path("/usr/share/mediawiki/maintenance/install.php").is_file()
    auto = _run("apt-mark", "showauto", "apache2").stdout.split()
    if auto == ["apache2"]:  # pulled in by the mediawiki package, as on every machine the script set up
        if shutil.which("systemctl"):
            assert _run("systemctl", "is-enabled", "apache2").stdout.strip() != "enabled"
        assert _run("pgrep", "-x", "apache2").returncode == 1
    else:  # someone installed apache2 on purpose (or the package came without it): not ours to touch
        assert auto == []


def test_try_fleet_with_the_fleet_down_says_what_to_do() -> None:
    port = free_port()
    tried = subprocess.run(
        ["bash", str(ROOT / "scripts" / "try-fleet")],
        env={**os.environ, "GATEWAY": f"http://127.0.0.1:{port}"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert tried.returncode == 1
    assert tried.stdout == ""
    assert f"no gateway answers at http://127.0.0.1:{port}" in tried.stderr
    assert "./scripts/dev" in tried.stderr
