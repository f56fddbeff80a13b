"""`fleet dev` around its edges: the free-port pre-check and the processes a killed run leaves."""

from __future__ import annotations

import io
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from fleet_core.testing import free_port
from fleet_frontdoor.devrun import DevFleet, _port_free, try_commands
from fleet_frontdoor.manifest import load_manifest

from .test_fleet_cli import _manifest_text

ROOT = Path(__file__).resolve().parents[2]


def _time_wait_port() -> int:
    """A loopback port whose only trace is a connection in TIME_WAIT, as right after Ctrl-C."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn and bind_loopback do
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port: int = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
        served.close()  # the server side closes first: its end (this port) goes to TIME_WAIT
        client.recv(1)
        client.close()
    return port


def test_a_port_left_in_time_wait_by_a_stopped_fleet_counts_as_free() -> None:
    port = _time_wait_port()
    with socket.socket() as plain:  # what the pre-check did before: a false "ports already in use"
        try:
            plain.bind(("127.0.0.1", port))
            reproduced = False
        except OSError:
            reproduced = True
    assert reproduced
    assert _port_free(f"http://127.0.0.1:{port}")


def test_a_port_someone_listens_on_is_still_busy() -> None:
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert not _port_free(f"http://127.0.0.1:{busy.getsockname()[1]}")


def _marked(mark: str) -> dict[int, str]:
    """Processes (pid → command line) whose environment carries `mark`: everything one fleet started."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if f"FLEET_TEST_MARK={mark}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def _start_fleet(tmp_path: Path, mark: str) -> tuple[subprocess.Popen[str], str]:
    """`fleet dev` with db and wiki (PostgreSQL and php -S) on a manifest in tmp_path, once ready."""
    path = tmp_path / "fleet.toml"
    if not path.exists():
        path.write_text(_manifest_text(free_port(), free_port(), {"db": free_port(), "wiki": free_port()}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_")} | {"FLEET_TEST_MARK": mark}
    fleet = Path(sys.executable).parent / "fleet"
    argv = [str(fleet), "--manifest", str(path), "dev", "--no-live", "--state-dir", str(tmp_path / "state")]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    seen = ""
    for line in process.stdout:
        seen += line
        if line.startswith("fleet dev: ready in"):
            break
    return process, seen


def test_kill_9_of_fleet_dev_leaves_no_postgres_or_php_running(tmp_path: Path) -> None:
    mark = secrets.token_hex(8)
    process, seen = _start_fleet(tmp_path, mark)
    try:
        assert "db: ready" in seen, seen
        assert "wiki: ready" in seen, seen
        running = _marked(mark)
        postgres = [cmd for cmd in running.values() if "postgres" in cmd and " -D " in cmd]
        assert postgres, running
        datadir = Path(postgres[0].split(" -D ")[1].split()[0])
        assert datadir.is_dir()
        assert any("php" in cmd and " -S " in cmd for cmd in running.values()), running

        process.kill()  # kill -9: no chance to clean up
        process.wait()
        deadline = time.monotonic() + 5
        while _marked(mark) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _marked(mark) == {}
        assert not datadir.exists()
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _summary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secret: str | None) -> str:
    if secret is None:
        monkeypatch.delenv("FLEET_CI_BOT_SECRET", raising=False)
    else:
        monkeypatch.setenv("FLEET_CI_BOT_SECRET", secret)
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False)  # a log file or a pipe
    fleet = DevFleet(load_manifest(ROOT / "fleet.toml"), ROOT / "fleet.toml", tmp_path, console=console)
    fleet._print_summary()
    return out.getvalue()


def test_the_banner_is_not_wrapped_when_stdout_is_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shown = _summary(monkeypatch, tmp_path, None)
    manifest = load_manifest(ROOT / "fleet.toml")
    for command in try_commands(manifest):
        assert f"  {command}\n" in shown  # whole, on one line: copy and paste works
    assert max(len(line) for line in shown.splitlines()) > 80


def test_the_banner_says_when_client_credentials_are_off_and_how_to_turn_them_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    off = _summary(monkeypatch, tmp_path, None)
    assert "Client credentials: ci-bot is off: $FLEET_CI_BOT_SECRET is not set" in off
    on = _summary(monkeypatch, tmp_path, "s3cret-value")
    assert "Client credentials: ci-bot (secret from $FLEET_CI_BOT_SECRET)" in on
    assert "s3cret-value" not in on


def test_the_next_fleet_dev_stops_what_a_killed_one_left(tmp_path: Path) -> None:
    mark = secrets.token_hex(8)
    first, seen = _start_fleet(tmp_path, mark)
    second: subprocess.Popen[str] | None = None
    try:
        assert "db: ready" in seen, seen
        # the worst case: fleet dev and its watchdogs all killed outright, only the backends survive
        reapers = [pid for pid, cmd in _marked(mark).items() if "_reaper.py" in cmd]
        assert len(reapers) == 2  # one for PostgreSQL, one for php -S
        for pid in reapers:
            os.kill(pid, signal.SIGKILL)
        first.kill()
        first.wait()
        left = {pid: cmd for pid, cmd in _marked(mark).items() if "postgres" in cmd or "php" in cmd}
        assert any(" -D " in cmd for cmd in left.values())
        assert any(" -S " in cmd for cmd in left.values())

        second, seen = _start_fleet(tmp_path, mark)
        assert "a previous `fleet dev` left running" in seen, seen
        assert "db: ready" in seen, seen
        assert "wiki: ready" in seen, seen
        assert not set(left) & set(_marked(mark))  # the old backends are gone, the new ones run
    finally:
        for process in (first, second):
            if process is not None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=30)
                finally:
                    process.kill()
                    process.wait()
                    if process.stdout is not None:
                        process.stdout.close()
