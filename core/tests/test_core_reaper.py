"""fleet_core.Reaper: a backend outlives a SIGKILLed owner only until the watchdog notices."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

OWNER = textwrap.dedent(
    """
    import subprocess, sys
    from fleet_core import Reaper
    backend = subprocess.Popen(["sleep", "600"], start_new_session=True, stdout=subprocess.DEVNULL)
    reaper = Reaper(killpg=[backend.pid], rmtree=[sys.argv[1]]).start()
    print(backend.pid, flush=True)
    if sys.stdin.readline().strip() == "cancel":
        reaper.cancel()
        print("cancelled", flush=True)
    sys.stdin.readline()
    """
)


def _owner(tmp_path: Path) -> tuple[subprocess.Popen[str], int, Path]:
    workdir = tmp_path / "backend-data"
    workdir.mkdir()
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(workdir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    return owner, int(owner.stdout.readline()), workdir


def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with open(f"/proc/{pid}/stat") as stat:  # a zombie of a reparented child counts as gone
            if stat.read().split(") ")[1].startswith("Z"):
                return True
        time.sleep(0.05)
    return False


def test_a_sigkilled_owner_s_backend_is_stopped_and_its_files_removed(tmp_path: Path) -> None:
    owner, backend, workdir = _owner(tmp_path)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    assert owner.stdin is not None  # both are pipes (see _owner)
    assert owner.stdout is not None
    owner.stdin.close()
    owner.stdout.close()
    assert _gone(backend)
    deadline = time.monotonic() + 5
    while workdir.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not workdir.exists()


def test_a_cancelled_reaper_touches_nothing(tmp_path: Path) -> None:
    owner, backend, workdir = _owner(tmp_path)
    try:
        out, _ = owner.communicate("cancel\n\n", timeout=30)
        assert out.strip() == "cancelled"
        os.kill(backend, 0)  # the owner exited without cleaning up, and nobody else did either
        assert workdir.exists()
    finally:
        os.killpg(backend, signal.SIGKILL)
