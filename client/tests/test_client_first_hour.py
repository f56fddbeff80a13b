"""What a new user of fleet-client runs into (issue 13, items 4–8): each refusal says why and what to do."""

from __future__ import annotations

import io
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from fleet_client import FleetClient
from fleet_client.cli import _run, main, parse_arguments
from fleet_client.config import ClientCredentials, load_config
from fleet_client.device import DeviceCode
from fleet_client.errors import DeviceSignInNeeded, FleetClientError, explain
from fleet_client.storage import stored_grants
from fleet_frontdoor.authserver.browser import approve_device

from .test_client_e2e import BOT_SECRET, browser_as, config_for, fleet, no_browser

REPO = Path(__file__).resolve().parents[2]


def test_global_options_work_after_the_command_too() -> None:
    before = parse_arguments(
        ["--headless", "--client-credentials", "--output", "json", "call", "db", "whoami"]
    )
    after = parse_arguments(
        ["call", "db", "whoami", "--headless", "--client-credentials", "--output", "json"]
    )
    for args in (before, after):
        assert (args.headless, args.client_credentials, args.output) == (True, True, "json")
    plain = parse_arguments(["--headless", "tools", "db"])  # not reset by the subcommand's defaults
    assert (plain.headless, plain.client_credentials, plain.output) == (True, False, "table")
    login = parse_arguments(["login", "--client-credentials", "--headless"])
    assert (login.login_client_credentials, login.headless) == (True, True)


def test_fleet_client_gateway_wins_over_the_manifest(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path), "FLEET_CLIENT_GATEWAY": "http://127.0.0.1:9700/"}
    config = load_config(env, manifest=REPO / "fleet.toml")
    assert config.gateway == "http://127.0.0.1:9700"
    assert config.server("db").url == "http://127.0.0.1:9700/mcp/db"
    file = tmp_path / "client.toml"
    file.write_text('[[servers]]\nname = "pinned"\nurl = "https://pinned.example/mcp"\n')
    pinned = load_config({**env, "FLEET_CLIENT_CONFIG": str(file)}, manifest=REPO / "fleet.toml")
    assert pinned.server("pinned").url == "https://pinned.example/mcp"  # a full url is kept


async def test_client_credentials_on_a_write_tool_names_the_missing_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEET_CLIENT_E2E_BOT_SECRET", BOT_SECRET)
    cc = ClientCredentials(client_id="e2e-bot")
    with anyio.fail_after(60):
        async with fleet(tmp_path, "demo") as door:
            client = FleetClient(
                config_for(door, tmp_path, client_credentials=cc),
                opener=no_browser,
                env={"FLEET_CLIENT_CC_SECRET": BOT_SECRET},
            )
            with pytest.raises((BaseExceptionGroup, FleetClientError)) as refused:
                async with client.connect("demo", client_credentials=True) as mcp:
                    await mcp.call_tool("write_note", {"text": "x"})
    message = explain(refused.value)
    assert message is not None
    assert "requires scope 'demo:read demo:write'" in message
    assert "granted 'demo:read' to client 'e2e-bot'" in message


async def test_a_wrong_or_missing_client_secret_says_where_each_side_lives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLEET_CLIENT_E2E_BOT_SECRET", raising=False)  # fleet dev started without it
    cc = ClientCredentials(client_id="e2e-bot", client_secret_env="MY_BOT_SECRET")
    with anyio.fail_after(60):
        async with fleet(tmp_path, "demo") as door:
            config = config_for(door, tmp_path, client_credentials=cc, config_file=tmp_path / "client.toml")
            client = FleetClient(config, opener=no_browser, env={"MY_BOT_SECRET": "guess"})
            with pytest.raises((BaseExceptionGroup, FleetClientError)) as refused:
                async with client.connect("demo", client_credentials=True) as mcp:
                    await mcp.call_tool("whoami", {})
            unconfigured = FleetClient(config_for(door, tmp_path), opener=no_browser)
            with pytest.raises((BaseExceptionGroup, FleetClientError)) as missing:
                async with unconfigured.connect("demo", client_credentials=True):
                    pass
    message = explain(refused.value) or ""
    assert "refused client 'e2e-bot' (invalid_client" in message
    assert f"[client_credentials] in {tmp_path / 'client.toml'}" in message
    assert "$MY_BOT_SECRET" in message
    assert "FLEET_CI_BOT_SECRET" in message
    assert "add a [client_credentials] section" in (explain(missing.value) or "")


async def test_a_step_up_says_why_before_it_signs_in_again(tmp_path: Path) -> None:
    out = io.StringIO()
    with anyio.fail_after(60):
        async with fleet(tmp_path, "demo") as door:
            client = FleetClient(config_for(door, tmp_path), opener=browser_as("alice"), out=out)
            await client.login("demo")
            async with client.connect("demo") as mcp:
                wrote = await mcp.call_tool("write_note", {"text": "hello"})
    assert wrote.is_error is False
    said = out.getvalue()
    assert f"{door.resource('demo')}: no valid sign-in stored" in said
    assert "requires scope 'demo:read demo:write' for this call; your sign-in holds 'demo:read'" in said


async def _approve_as_alice(code: DeviceCode) -> None:
    assert code.verification_uri_complete is not None  # the dev AS sends it
    await approve_device(code.verification_uri_complete, user="alice")


async def _no_wait(_: float) -> None:
    await anyio.lowlevel.checkpoint()


async def test_after_a_device_login_a_step_up_uses_the_device_flow_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with anyio.fail_after(60):
        async with fleet(tmp_path, "demo") as door:
            config = config_for(door, tmp_path)
            client = FleetClient(config, opener=no_browser)  # this machine has no browser
            await client.device_login("demo", scope="demo:read", prompt=_approve_as_alice, sleep=_no_wait)
            with pytest.raises((BaseExceptionGroup, FleetClientError)) as needed:
                async with client.connect("demo") as mcp:
                    await mcp.call_tool("write_note", {"text": "x"})
            leaf = needed.value
            while isinstance(leaf, BaseExceptionGroup):
                leaf = leaf.exceptions[0]
            assert isinstance(leaf, DeviceSignInNeeded)
            assert leaf.scope == "demo:read demo:write"  # SEP-2350 union, as the browser flow asks

            # the CLI runs the device flow for that scope and the command once more
            device_login = FleetClient.device_login

            async def unattended(self: FleetClient, server: str, *, scope: str | None = None) -> None:
                await device_login(self, server, scope=scope, prompt=_approve_as_alice, sleep=_no_wait)

            monkeypatch.setattr(FleetClient, "device_login", unattended)
            monkeypatch.setattr("fleet_client.session.open_in_browser", no_browser)
            out = io.StringIO()
            args = parse_arguments(["call", "demo", "write_note", "text=from-device"])
            assert await _run(args, config, out) == 0
    assert "alice wrote from-device" in out.getvalue()
    assert "requires scope 'demo:read demo:write'" in capsys.readouterr().err
    (grant,) = stored_grants(tmp_path / "client")
    assert grant.scope == "demo:read demo:write"


def test_whoami_signed_out_says_how_to_sign_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("FLEET_MANIFEST", str(REPO / "fleet.toml"))
    out = io.StringIO()
    assert main(["whoami"], out=out) == 0
    assert out.getvalue().startswith("not signed in to any server: `fleet-client login`")
    as_json = io.StringIO()
    assert main(["--output", "json", "whoami"], out=as_json) == 0
    assert as_json.getvalue().strip() == "[]"  # scripts still get an empty list
