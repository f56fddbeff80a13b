"""The `fleet dev` hook (demo fake backend) and the `fleet-gitea` entry point as a real process."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import anyio
import httpx2
import pytest

from fleet_core.testing import TEST_SECRET, connect, free_port, identity, text_of
from fleet_gitea.backend import GiteaClient
from fleet_gitea.dev import backend
from fleet_gitea.fake import FakeGitea
from fleet_gitea.testing import TOKEN, VALID, Harness


async def test_dev_backend_uses_a_configured_gitea_untouched(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEET_GITEA_URL", "https://gitea.example.com")
    monkeypatch.setenv("FLEET_GITEA_TOKEN", "real-token")
    async with backend(tmp_path) as env:
        assert env == {"FLEET_GITEA_URL": "https://gitea.example.com", "FLEET_GITEA_TOKEN": "real-token"}


async def test_fleet_gitea_process_serves_the_demo_backend_as_the_caller(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLEET_GITEA_URL", raising=False)
    monkeypatch.delenv("FLEET_GITEA_TOKEN", raising=False)
    port = free_port()
    public_url = "http://127.0.0.1:8700/mcp/gitea"
    with anyio.fail_after(60):
        async with backend(tmp_path) as env:
            demo = GiteaClient(env["FLEET_GITEA_URL"], env["FLEET_GITEA_TOKEN"])
            assert "fleet-fake" in await demo.version()
            await demo.aclose()
            process_env = {
                **os.environ,
                **env,
                "FLEET_GITEA_PUBLIC_URL": public_url,
                "FLEET_GITEA_PORT": str(port),
                "FLEET_GITEA_TRUST_MODE": "gateway-secret",
                "FLEET_GITEA_GATEWAY_SECRETS": TEST_SECRET,
            }
            code = "from fleet_gitea.__main__ import main; main()"
            async with await anyio.open_process(
                [sys.executable, "-c", code],
                env=process_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ) as process:
                try:
                    base = f"http://127.0.0.1:{port}"
                    async with httpx2.AsyncClient() as http:
                        while True:
                            try:
                                if (await http.get(base + "/readyz")).status_code == 200:
                                    break
                            except httpx2.TransportError:
                                pass
                            await anyio.sleep(0.1)
                    who = identity("bob", "gitea:read", audience=public_url)
                    async with connect(base + "/mcp", identity=who) as client:
                        result = await client.call_tool("get_me", {})
                    assert result.structured_content["login"] == "bob"
                finally:
                    process.terminate()


def test_main_refuses_to_start_without_a_gitea(monkeypatch: pytest.MonkeyPatch) -> None:
    from fleet_gitea.__main__ import main

    monkeypatch.delenv("FLEET_GITEA_URL", raising=False)
    monkeypatch.setenv("FLEET_GITEA_TRUST_MODE", "insecure-dev")
    with pytest.raises(SystemExit, match="FLEET_GITEA_URL and FLEET_GITEA_TOKEN"):
        main()


async def test_stdio_mode_acts_as_the_configured_user_with_its_scopes(
    shared: Harness, fake: FakeGitea
) -> None:
    from mcp import Client, StdioServerParameters

    env = {
        **os.environ,
        "FLEET_GITEA_URL": shared.gitea_url,
        "FLEET_GITEA_TOKEN": TOKEN,
        "FLEET_GITEA_STDIO_USER": "bob",
        "FLEET_GITEA_STDIO_SCOPES": "gitea:read",
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "fleet_gitea", "--stdio"], env=env)
    with anyio.fail_after(60):
        async with Client(params) as client:
            me = await client.call_tool("get_me", {})
            write = await client.call_tool("create_issue", VALID["create_issue"])
    assert me.structured_content["login"] == "bob"
    assert write.is_error
    assert "insufficient scope" in text_of(write)
    assert {r.sudo for r in fake.requests} == {"bob"}
    assert fake.repos["alice/demo"].issues.keys() == {1, 2, 3}
