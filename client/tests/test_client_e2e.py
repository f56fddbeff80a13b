"""End to end through the real dev front door (dev authorization server + dev gateway, over real
loopback HTTP) to a server built with fleet_core: headless login, read call, step-up on a write,
device flow, refresh after expiry, client credentials, logout — and the CLI itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import runpy
import sys
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.lowlevel
import httpx2
import pytest
from mcp.server.mcpserver import Context
from pydantic import Field

from fleet_client import FleetClient, LoginError
from fleet_client.config import ClientConfig, ClientCredentials, ServerEntry
from fleet_client.device import DeviceCode
from fleet_client.errors import explain
from fleet_client.storage import stored_grants
from fleet_core import WRITE, ServerSettings, build_app, caller, create_server, requires
from fleet_core.testing import text_of
from fleet_frontdoor.authserver.browser import approve_device, approve_in_browser
from fleet_frontdoor.manifest import Manifest
from fleet_frontdoor.testing import FrontDoor, front_door

MANIFEST = """
[gateway]
origin = "http://127.0.0.1:8700"

[issuer]
url = "http://127.0.0.1:8701"

[[servers]]
name = "demo"
upstream = "http://127.0.0.1:8710"
scopes = ["demo:read", "demo:write"]

[[servers]]
name = "other"
upstream = "http://127.0.0.1:8711"
scopes = ["other:read"]

[[dev.users]]
name = "alice"
scopes = ["demo:read", "demo:write", "other:read"]

[[dev.users]]
name = "bob"
scopes = ["demo:read"]

[[clients]]
client_id = "fleet-client"
redirect_uris = ["http://127.0.0.1/callback"]
grant_types = ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]

[[clients]]
client_id = "e2e-bot"
type = "confidential"
secret_env = "FLEET_CLIENT_E2E_BOT_SECRET"
grant_types = ["client_credentials"]
scopes = ["demo:read"]
"""
BOT_SECRET = "e2e-bot-secret-0123456789"


def demo_upstream(door: FrontDoor, name: str) -> Any:
    settings = ServerSettings(**door.server_settings(name))  # serves /mcp; the gateway maps /mcp/<name>
    mcp = create_server(name)

    @mcp.tool(meta=requires(f"{name}:write"), annotations=WRITE)
    async def write_note(
        text: Annotated[str, Field(description="what to write")], ctx: Context[Any, Any]
    ) -> str:
        """Pretend to write something (needs the write scope)."""
        return f"{caller(ctx).account} wrote {text}"

    return build_app(mcp, settings)


@contextlib.asynccontextmanager
async def fleet(tmp_path: Path, *upstreams: str) -> AsyncIterator[FrontDoor]:
    manifest = Manifest.model_validate(tomllib.loads(MANIFEST))
    async with (
        front_door(tmp_path / "as", list(upstreams), manifest=manifest) as door,
        contextlib.AsyncExitStack() as stack,
    ):
        for name in upstreams:
            await stack.enter_async_context(door.upstream(name, demo_upstream(door, name)))
        yield door


def config_for(door: FrontDoor, tmp_path: Path, **overrides: Any) -> ClientConfig:
    servers = tuple(
        ServerEntry(name=s.name, url=s.resource, scopes=s.scopes) for s in door.manifest.enabled_servers
    )
    return ClientConfig(
        gateway=door.origin,
        issuer=door.issuer,
        servers=servers,
        state_dir=tmp_path / "client",
        **overrides,
    )


def browser_as(user: str, seen: list[str] | None = None) -> Callable[[str], Awaitable[None]]:
    """A headless user: signs in on the dev AS, approves, and follows the redirect to the listener."""

    async def opener(url: str) -> None:
        if seen is not None:
            seen.append(url)
        location = await approve_in_browser(url, user=user)
        async with httpx2.AsyncClient(timeout=10) as http:
            await http.get(location)

    return opener


async def no_browser(url: str) -> None:
    raise AssertionError(f"no browser sign-in expected here: {url}")


async def test_login_read_call_and_step_up_on_write(tmp_path: pathlib.Path) -> None:
    with anyio.fail_after(60):
        async with fleet(tmp_path, "demo") as door:
            seen: list[str] = []
            client = FleetClient(config_for(door, tmp_path), opener=browser_as("alice", seen))
            await client.login("demo")
            async with FleetClient(config_for(door, tmp_path), opener=no_browser).connect("demo") as mcp:
                me = await mcp.call_tool("whoami", {})
            async with client.connect("demo") as mcp:
                wrote = await mcp.call_tool("write_note", {"text": "hello"})
    assert me.structured_content["account"] == "alice"
    assert me.structured_content["scopes"] == ["demo:read"]
    assert me.structured_content["audience"] == [door.resource("demo")]
    assert wrote.is_error is False
    assert "alice wrote hello" in text_of(wrote)
    assert len(seen) == 2  # the login, then one step-up
    assert "scope=demo%3Aread&" in seen[0] or seen[0].endswith("scope=demo%3Aread")
    assert "scope=demo%3Aread+demo%3Awrite" in seen[1]  # SEP-2350 union
    (grant,) = stored_grants(tmp_path / "client")
    assert grant.scope == "demo:read demo:write"
    assert grant.issuer == door.issuer


async def test_a_user_without_the_write_scope_gets_a_clear_refusal(tmp_path: pathlib.Path) -> None:
    with anyio.fail_after(60):
        async with fleet(tmp_path, "demo") as door:
            client = FleetClient(config_for(door, tmp_path), opener=browser_as("bob"))
            async with client.connect("demo") as mcp:
                assert (await mcp.call_tool("whoami", {})).structured_content["account"] == "bob"
            with pytest.raises(ExceptionGroup) as refused:  # the flow error ends the connection
                async with client.connect("demo") as mcp:
                    await mcp.call_tool("write_note", {"text": "x"})
    message = explain(refused.value)
    assert message is not None
    assert "requires scope 'demo:read demo:write'" in message
    assert "granted 'demo:read'" in message


async def test_device_flow_then_calls_without_a_browser(tmp_path: pathlib.Path) -> None:
    async def approve(code: DeviceCode) -> None:
        assert code.verification_uri_complete is not None  # the dev AS sends it
        await approve_device(code.verification_uri_complete, user="alice")

    async def no_wait(_: float) -> None:
        await anyio.lowlevel.checkpoint()

    with anyio.fail_after(60):
        async with fleet(tmp_path, "demo") as door:
            client = FleetClient(config_for(door, tmp_path), opener=no_browser)
            await client.device_login("demo", scope="demo:read", prompt=approve, sleep=no_wait)
            async with client.connect("demo") as mcp:
                me = await mcp.call_tool("whoami", {})
    assert me.structured_content["account"] == "alice"
    assert me.structured_content["client_id"] == "fleet-client"


async def test_refresh_after_expiry_needs_no_browser(tmp_path: pathlib.Path) -> None:
    with anyio.fail_after(60):
        async with fleet(tmp_path, "demo") as door:
            config = config_for(door, tmp_path)
            await FleetClient(config, opener=browser_as("alice")).login("demo")
            storage = FleetClient(config).storage(config.servers[0])
            storage.bind_issuer(door.issuer)
            before = await storage.get_tokens()
            storage._update(expires_at=0)  # the stored token is past its expiry
            async with FleetClient(config, opener=no_browser).connect("demo") as mcp:
                me = await mcp.call_tool("whoami", {})
            after = await storage.get_tokens()
    assert me.structured_content["account"] == "alice"
    assert before is not None
    assert after is not None
    assert after.access_token != before.access_token
    expires_at = storage.expires_at()
    assert expires_at is not None
    assert expires_at > 0


async def test_tokens_stay_with_their_resource(tmp_path: pathlib.Path) -> None:
    with anyio.fail_after(60):
        async with fleet(tmp_path, "demo", "other") as door:
            config = config_for(door, tmp_path)
            client = FleetClient(config, opener=browser_as("alice"))
            async with client.connect("demo") as mcp:
                demo_me = await mcp.call_tool("whoami", {})
            async with client.connect("other") as mcp:
                other_me = await mcp.call_tool("whoami", {})
    assert demo_me.structured_content["audience"] == [door.resource("demo")]
    assert other_me.structured_content["audience"] == [door.resource("other")]
    assert {g.resource for g in stored_grants(config.state_dir)} == {
        door.resource("demo"),
        door.resource("other"),
    }


async def test_client_credentials(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEET_CLIENT_E2E_BOT_SECRET", BOT_SECRET)  # the dev AS reads it (secret_env)
    env = {"FLEET_CLIENT_CC_SECRET": BOT_SECRET}
    with anyio.fail_after(60):
        async with fleet(tmp_path, "demo") as door:
            config = config_for(door, tmp_path, client_credentials=ClientCredentials(client_id="e2e-bot"))
            client = FleetClient(config, opener=no_browser, env=env)
            async with client.connect("demo", client_credentials=True) as mcp:
                me = await mcp.call_tool("whoami", {})
    assert me.structured_content["subject"] == "client:e2e-bot"


async def test_logout_then_the_next_call_signs_in_again(tmp_path: pathlib.Path) -> None:
    with anyio.fail_after(60):
        async with fleet(tmp_path, "demo") as door:
            config = config_for(door, tmp_path)
            seen: list[str] = []
            client = FleetClient(config, opener=browser_as("alice", seen))
            await client.login("demo")
            assert client.logout() == 1
            assert stored_grants(config.state_dir) == []
            with pytest.raises(LoginError):
                await FleetClient(config, opener=_refuse).login("demo")
    assert len(seen) == 1


async def _refuse(url: str) -> None:
    raise LoginError("the user closed the browser")


async def test_cli_headless_login_call_whoami_and_logout(tmp_path: pathlib.Path) -> None:
    async with fleet(tmp_path, "demo") as door:
        config_file = tmp_path / "config.toml"
        config_file.write_text(
            f'gateway = "{door.origin}"\nissuer = "{door.issuer}"\n'
            f'[[servers]]\nname = "demo"\nscopes = ["demo:read", "demo:write"]\n'
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_")}
        env |= {"FLEET_CLIENT_CONFIG": str(config_file), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
        cli = [sys.executable, "-m", "fleet_client"]

        async def run(*args: str) -> str:
            result = await anyio.run_process([*cli, *args], env=env, cwd=tmp_path, check=False)
            assert result.returncode == 0, result.stderr.decode()
            return result.stdout.decode()

        async def run_with_browser(*args: str) -> str:
            """Run a command that needs a sign-in; play the user at the printed URL."""
            process = await anyio.open_process([*cli, "--headless", *args], env=env, cwd=tmp_path)
            async with process:
                assert process.stderr is not None
                assert process.stdout is not None
                buffer = b""
                while b"/oauth/authorize?" not in buffer or not buffer.endswith(b"\n\n"):
                    buffer += await process.stderr.receive()
                url = next(
                    line.strip() for line in buffer.decode().splitlines() if "/oauth/authorize?" in line
                )
                await browser_as("alice")(url)
                out = b""
                with contextlib.suppress(anyio.EndOfStream):
                    while True:
                        out += await process.stdout.receive()
                assert await process.wait() == 0
            return out.decode()

        with anyio.fail_after(90):
            await run_with_browser("login", "--server", "demo")
            tools = await run("--output", "json", "tools", "demo")
            called = await run_with_browser("call", "demo", "write_note", "text=from-cli")  # step-up
            whoami = await run("--output", "json", "whoami", "demo")
            local = await run("--output", "json", "whoami")
            await run("logout")
            after = await run("--output", "json", "whoami")
    assert {t["name"] for t in json.loads(tools)} >= {"whoami", "write_note"}
    assert "alice wrote from-cli" in called
    assert '"account": "alice"' in whoami
    assert '"scope": "demo:read demo:write"' in local
    assert after.strip() == "[]"


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "whoami.py"


def test_readme_shows_the_example_verbatim() -> None:
    readme = (EXAMPLE.parents[1] / "README.md").read_text()
    assert f"```python\n{EXAMPLE.read_text()}```" in readme


async def test_the_example_runs_against_the_front_door(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = runpy.run_path(str(EXAMPLE))  # not as __main__: only defines main()
    with anyio.fail_after(60):
        async with fleet(tmp_path, "demo") as door:
            config = config_for(door, tmp_path)
            await FleetClient(config, opener=browser_as("alice")).login("demo")
            config_file = tmp_path / "config.toml"
            config_file.write_text(
                f'gateway = "{door.origin}"\nissuer = "{door.issuer}"\n[[servers]]\nname = "demo"\n'
            )
            for key in [k for k in os.environ if k.startswith("FLEET_")]:
                monkeypatch.delenv(key)
            monkeypatch.setenv("FLEET_CLIENT_CONFIG", str(config_file))
            monkeypatch.setenv("FLEET_CLIENT_STATE_DIR", str(config.state_dir))  # signed in above
            await example["main"]("demo")
    assert "'account': 'alice'" in capsys.readouterr().out
