"""The `fleet dev` hook, and the `fleet-wiki` process started the way `fleet dev` starts it."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters

from fleet_core import DevBackendUnavailable
from fleet_core.testing import TEST_SECRET, connect, free_port, identity, text_of
from fleet_wiki.dev import backend
from fleet_wiki.embedded import EmbeddedWiki, embedded_wiki


async def test_dev_backend_explains_what_to_install(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEET_WIKI_MEDIAWIKI_DIR", str(tmp_path / "no-mediawiki-here"))
    with pytest.raises(DevBackendUnavailable, match=r"30-mediawiki\.sh"):
        async with backend(tmp_path):
            pass


async def test_fleet_wiki_process_serves_the_dev_wiki(tmp_path: pathlib.Path) -> None:
    port = free_port()
    public_url = "http://127.0.0.1:8700/mcp/wiki"
    with anyio.fail_after(90):
        async with backend(tmp_path) as env:
            proc_env = os.environ | env
            proc_env |= {
                "FLEET_WIKI_PUBLIC_URL": public_url,
                "FLEET_WIKI_PORT": str(port),
                "FLEET_WIKI_TRUST_MODE": "gateway-secret",
                "FLEET_WIKI_GATEWAY_SECRETS": TEST_SECRET,
                "FLEET_WIKI_ALLOWED_HOSTS": f"127.0.0.1:{port}",
            }
            proc = subprocess.Popen([sys.executable, "-m", "fleet_wiki"], env=proc_env)  # noqa: ASYNC220
            try:
                base = f"http://127.0.0.1:{port}"
                async with httpx2.AsyncClient(timeout=5) as http:
                    while True:  # polling a child process, under fail_after
                        assert proc.poll() is None, "fleet-wiki exited"
                        try:
                            if (await http.get(f"{base}/readyz")).status_code == 200:
                                break
                        except httpx2.TransportError:
                            pass
                        await anyio.sleep(0.1)
                who = identity("alice", "wiki:read", audience=public_url)
                async with connect(f"{base}/mcp", identity=who) as mcp:
                    result = await mcp.call_tool("get_page", {"title": "Onboarding"})
            finally:
                proc.terminate()
                proc.wait(timeout=10)
    assert not result.is_error, result.content
    assert "Deploy guide" in result.structured_content["content"]


async def test_stdio_mode_serves_one_local_user_with_scopes_enforced(wiki: EmbeddedWiki) -> None:
    env = os.environ | {
        "FLEET_WIKI_URL": wiki.url,
        "FLEET_WIKI_BOT_USERNAME": wiki.bot_username,
        "FLEET_WIKI_BOT_PASSWORD": wiki.bot_password,
        "FLEET_WIKI_STDIO_USER": "carol",
        "FLEET_WIKI_STDIO_SCOPES": "wiki:read",
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "fleet_wiki", "--stdio"], env=env)
    with anyio.fail_after(60):
        async with Client(params) as mcp:
            who = await mcp.call_tool("whoami", {})
            page = await mcp.call_tool("get_page", {"title": "Deploy guide"})
            write = await mcp.call_tool("append_to_page", {"title": "Deploy guide", "text": "x"})
    assert who.structured_content["subject"] == "carol"
    assert not page.is_error
    assert write.is_error
    assert "wiki:write" in text_of(write)


def test_invalid_settings_exit_with_a_message() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_WIKI_")}
    result = subprocess.run(
        [sys.executable, "-m", "fleet_wiki"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "fleet-wiki: invalid settings" in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_second_dev_run_in_the_same_workdir_starts_a_fresh_wiki(tmp_path: pathlib.Path) -> None:
    with anyio.fail_after(60):
        for _ in range(2):
            async with embedded_wiki(tmp_path, seed=False) as wiki, wiki.client() as client:
                body = await client.get(action="query", meta="siteinfo", siprop="statistics")
                assert body["query"]["statistics"]["edits"] == 1  # only the installer's Main Page
                await client.post(action="edit", title="Left over", text="from this run", createonly=True)
