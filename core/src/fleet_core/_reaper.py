"""Clean up a backend when the process that started it dies, even by SIGKILL.

A throwaway backend (PostgreSQL started through `pg_ctl`, which daemonizes it; `php -S` and its workers)
is not a child that the parent-death signal reaches, so `kill -9` of `fleet dev` (an OOM kill, a crashed
terminal) used to leave it running for good. `Reaper.start()` runs this file as a small watchdog in its
own session: it waits on a pidfd for the watched process to exit, then kills the recorded process
groups, runs the recorded commands (`pg_ctl stop`) and removes the recorded directories. On a normal
shutdown the owner cleans up itself and calls `Reaper.cancel()` first, so the watchdog never acts on
ids that may since have been reused.

The watchdog runs as `python -I <this file>`: standard library only, without importing fleet_core.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Reaper", "pid_alive"]

GRACE = 2.0  # seconds a process group gets between SIGTERM and SIGKILL


@dataclass
class Reaper:
    """What to undo if `watch` (default: this process) dies before `cancel()`."""

    killpg: list[int] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)
    rmtree: list[str] = field(default_factory=list)
    watch: int = field(default_factory=os.getpid)
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def start(self) -> Reaper:
        plan = json.dumps(
            {"watch": self.watch, "killpg": self.killpg, "run": self.commands, "rm": self.rmtree}
        )
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter running this file
            [sys.executable, "-I", __file__, plan],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C and a closing terminal reach the owner, not the watchdog
            close_fds=True,
        )
        return self

    def cancel(self) -> None:
        """The owner is cleaning up itself: stop the watchdog without it doing anything."""
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            self._process.wait()
            self._process = None


def _wait_for_exit(pid: int) -> None:
    pidfd_open = getattr(os, "pidfd_open", None)  # Linux ≥ 5.3
    try:
        if pidfd_open is None:
            raise OSError("no pidfd")
        fd = pidfd_open(pid)
    except ProcessLookupError:
        return
    except OSError:  # no pidfd here: poll
        while pid_alive(pid):
            time.sleep(0.2)
        return
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)  # readable once the process has exited
        poller.poll()
    finally:
        os.close(fd)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid is running (ours or not): a zombie, exited but not yet waited
    for, is not (where /proc tells; elsewhere existence is all there is to know)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return not os.path.isdir("/proc/self")  # gone since the kill, unless there is no /proc at all


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE
        while time.monotonic() < deadline:
            time.sleep(0.05)
            os.killpg(pgid, 0)  # raises ProcessLookupError once the whole group is gone
        os.killpg(pgid, signal.SIGKILL)


def reap(plan: dict[str, Any]) -> None:
    _wait_for_exit(int(plan["watch"]))
    for pgid in plan["killpg"]:
        _kill_group(int(pgid))
    for argv in plan["run"]:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(  # noqa: S603 - argv recorded by the owner
                [str(a) for a in argv], stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False
            )
    for path in plan["rm"]:
        shutil.rmtree(Path(path), ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    reap(json.loads(sys.argv[1]))
