"""The `fleet-client` CLI against a real `fleet dev` (subprocesses: authorization server, gateway and
the gitea server with its labelled demo backend): headless login, a read call, a write call that
steps up, logout, device flow — what a workshop attendee types.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx2
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from fleet_core.testing import free_port
from fleet_frontdoor.authserver.browser import approve_device, approve_in_browser

BIN = Path(sys.executable).parent


def manifest_text(gateway: int, issuer: int, gitea: int) -> str:
    return f"""
[gateway]
origin = "http://127.0.0.1:{gateway}"

[issuer]
url = "http://127.0.0.1:{issuer}"

[[servers]]
name = "gitea"
upstream = "http://127.0.0.1:{gitea}"
scopes = ["gitea:read", "gitea:write"]

[[dev.users]]
name = "alice"
scopes = ["gitea:read", "gitea:write"]

[[clients]]
client_id = "fleet-client"
redirect_uris = ["http://127.0.0.1/callback"]
grant_types = ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]
"""


@contextlib.asynccontextmanager
async def fleet_dev(tmp_path: Path, env: dict[str, str]) -> AsyncIterator[None]:
    argv = [str(BIN / "fleet"), "dev", "--no-live", "--state-dir", str(tmp_path / "state")]
    lines: list[str] = []
    async with await anyio.open_process(argv, stderr=subprocess.STDOUT, env=env, cwd=tmp_path) as process:
        assert process.stdout is not None
        reader = BufferedByteReceiveStream(process.stdout)
        while True:
            try:
                line = (await reader.receive_until(b"\n", 65536)).decode()
            except (anyio.EndOfStream, anyio.IncompleteRead):
                pytest.fail("fleet dev exited early:\n" + "".join(lines))
            lines.append(line)
            if line.startswith("fleet dev: ready in"):
                break
        assert any("gitea: ready" in line for line in lines), "".join(lines)
        try:
            yield
        finally:
            process.send_signal(signal.SIGINT)
            with contextlib.suppress(anyio.EndOfStream):
                while True:
                    await reader.receive()
            await process.wait()


async def sign_in_at(url: str) -> None:
    location = await approve_in_browser(url, user="alice")
    async with httpx2.AsyncClient(timeout=10) as http:
        await http.get(location)  # the browser follows the redirect to the client's listener


async def cli_with_user(env: dict[str, str], cwd: Path, *args: str, marker: str) -> str:
    """Run fleet-client; when it prints a line containing `marker`, act as the user there."""
    argv = [str(BIN / "fleet-client"), "--headless", *args]
    async with await anyio.open_process(argv, env=env, cwd=cwd) as process:
        assert process.stderr is not None
        assert process.stdout is not None
        seen = b""
        while marker.encode() not in seen or not seen.endswith(b"\n"):
            chunk = await process.stderr.receive()
            seen += chunk
        line = next(x for x in seen.decode().splitlines() if marker in x)
        url = line[line.index("http") :].strip()
        if marker == "/device":
            await approve_device(url, user="alice")
        else:
            await sign_in_at(url)
        out = b""
        with contextlib.suppress(anyio.EndOfStream):
            while True:
                out += await process.stdout.receive()
        rest = b""
        with contextlib.suppress(anyio.EndOfStream):
            while True:
                rest += await process.stderr.receive()
        assert await process.wait() == 0, (seen + rest).decode()
    return out.decode()


async def cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    result = await anyio.run_process([str(BIN / "fleet-client"), *args], env=env, cwd=cwd, check=False)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


async def test_cli_against_fleet_dev(tmp_path: pathlib.Path) -> None:
    (tmp_path / "fleet.toml").write_text(manifest_text(free_port(), free_port(), free_port()))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLEET_", "XDG_CONFIG_HOME"))}
    env |= {"FLEET_MANIFEST": str(tmp_path / "fleet.toml"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    with anyio.fail_after(120):
        async with fleet_dev(tmp_path, env):
            await cli_with_user(env, tmp_path, "login", marker="/oauth/authorize?")
            me = json.loads(await cli(env, tmp_path, "--output", "json", "call", "gitea", "whoami"))
            issue = await cli_with_user(
                env,
                tmp_path,
                "--output",
                "json",
                "call",
                "gitea",
                "create_issue",
                "owner=alice",
                "repo=demo",
                "title=from fleet-client",
                marker="/oauth/authorize?",  # step-up: gitea:write
            )
            grants = json.loads(await cli(env, tmp_path, "--output", "json", "whoami"))
            await cli(env, tmp_path, "logout")
            await cli_with_user(env, tmp_path, "login", "--device", "--server", "gitea", marker="/device")
            after_device = json.loads(await cli(env, tmp_path, "--output", "json", "call", "gitea", "whoami"))
    assert me["result"]["account"] == "alice"
    created = json.loads(issue)
    assert created["is_error"] is False, created
    assert "from fleet-client" in json.dumps(created["result"])
    (grant,) = grants
    assert grant["scope"] == "gitea:read gitea:write"
    assert grant["refreshable"] is True
    assert after_device["result"]["account"] == "alice"
