"""`python -m fleet_frontdoor.authserver` serves on the manifest issuer's port with the dev token endpoint."""

import pathlib
import subprocess
import sys
import time

import httpx2
import pytest

from fleet_core.testing import free_port
from fleet_frontdoor.authserver.testing import SAMPLE_TOML


def test_runner_serves_the_issuer_port(tmp_path: pathlib.Path) -> None:
    port = free_port()
    manifest = tmp_path / "fleet.toml"
    manifest.write_text(SAMPLE_TOML.replace("http://127.0.0.1:8701", f"http://127.0.0.1:{port}"))
    cmd = [
        sys.executable,
        "-m",
        "fleet_frontdoor.authserver",
        "--manifest",
        str(manifest),
        "--state-dir",
        str(tmp_path),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None  # stderr=PIPE
    meta: httpx2.Response | None = None
    try:
        deadline = time.monotonic() + 20
        while meta is None:
            try:
                meta = httpx2.get(
                    f"http://127.0.0.1:{port}/.well-known/oauth-authorization-server", timeout=1
                )
            except httpx2.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "auth server did not start"
                time.sleep(0.05)
        token = httpx2.post(
            f"http://127.0.0.1:{port}/dev/token", json={"user": "bob", "scope": "db:read"}, timeout=5
        )
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert meta.json()["issuer"] == f"http://127.0.0.1:{port}"
    assert token.status_code == 200
    assert (tmp_path / "authserver.sqlite3").stat().st_mode & 0o077 == 0


def test_rotate_and_retire_keys_from_the_command_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fleet_frontdoor.authserver import main
    from fleet_frontdoor.authserver.keys import KeyRing
    from fleet_frontdoor.authserver.store import Store

    manifest = tmp_path / "fleet.toml"
    manifest.write_text(SAMPLE_TOML)
    main(["--manifest", str(manifest), "--state-dir", str(tmp_path), "--rotate-key"])
    main(["--manifest", str(manifest), "--state-dir", str(tmp_path), "--rotate-key"])
    store = Store(tmp_path)
    try:
        assert len(KeyRing(store).jwks()["keys"]) == 3  # the first key, then two rotations
        main(["--manifest", str(manifest), "--state-dir", str(tmp_path), "--retire-old-keys"])
        assert len(KeyRing(store).jwks()["keys"]) == 1
    finally:
        store.close()
    assert "new signing key" in capsys.readouterr().out
