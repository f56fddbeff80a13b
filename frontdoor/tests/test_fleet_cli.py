"""The `fleet` CLI: generated gateway config in sync, `fleet dev token`, and `fleet dev` end to end."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import jwt
import pytest
import yaml
from anyio.streams.buffered import BufferedByteReceiveStream

from fleet_core import bind_loopback, dev_subject
from fleet_core.testing import MCP_HEADERS, call_body, free_port, running_app
from fleet_frontdoor.authserver import build_auth_server
from fleet_frontdoor.cli import main
from fleet_frontdoor.gateway import build_gateway
from fleet_frontdoor.generate import check, deck_secret_var, render_kong
from fleet_frontdoor.manifest import Manifest, load_manifest

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "fleet.toml"


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def kong_services(manifest: Manifest) -> list[dict[str, Any]]:
    value: list[dict[str, Any]] = yaml.safe_load(render_kong(manifest))["services"]
    return value


def test_committed_gateway_config_is_in_sync_with_the_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    assert check(load_manifest(MANIFEST), ROOT) == []
    code, out, _ = run_cli(["--manifest", str(MANIFEST), "gateway", "kong", "--check"], capsys)
    assert code == 0
    assert "up to date" in out


def test_gateway_kong_check_fails_when_stale_and_regenerates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "fleet.toml"
    shutil.copy(MANIFEST, manifest)
    argv = ["--manifest", str(manifest), "gateway", "kong"]
    assert run_cli([*argv, "--check"], capsys)[0] == 1  # nothing generated yet
    assert run_cli(argv, capsys)[0] == 0
    assert run_cli([*argv, "--check"], capsys)[0] == 0
    text = manifest.read_text()
    manifest.write_text(text.replace('name = "wiki"', 'name = "wiki"\nenabled = false'))
    code, _, err = run_cli([*argv, "--check"], capsys)
    assert code == 1
    assert "gateway/kong.yml is out of date" in err
    code, out, _ = run_cli(argv, capsys)
    assert "wrote gateway/kong.yml" in out
    assert "/mcp/wiki" not in (tmp_path / "gateway" / "kong.yml").read_text()


def test_g23_kong_config_is_strict_and_carries_no_secret() -> None:
    manifest = load_manifest(MANIFEST)
    services = kong_services(manifest)
    assert [s["name"] for s in services] == [f"mcp-{s.name}" for s in manifest.enabled_servers]
    for service, server in zip(services, manifest.enabled_servers, strict=True):
        assert service["url"] == server.upstream + "/mcp"
        (route,) = service["routes"]
        # the plugin's routing gotcha: the route must also match the metadata path
        assert route["paths"] == [server.path, f"/.well-known/oauth-protected-resource{server.path}"]
        assert route["strip_path"] is True
        plugins = {p["name"]: p["config"] for p in service["plugins"]}
        config = plugins["mcp-oauth2"]
        assert config["issuer"] == manifest.issuer.url
        assert config["gateway_origin"] == manifest.gateway.origin
        assert config["resource_path"] == server.path
        assert config["audience"] == server.resource
        assert config["jwks_uri"] == manifest.issuer.url + "/.well-known/jwks.json"
        assert config["required_scopes"] == [server.read_scope]
        assert config["leeway_seconds"] == manifest.gateway.leeway_seconds
        assert config["upstream_auth_mode"] == manifest.gateway.upstream_auth_mode
        assert {k: v for k, v in config.items() if k.startswith("skip_") or k == "debug_claims"} == {
            "skip_issuer_check": False,
            "skip_type_check": False,
            "skip_control_chars": False,
            "skip_audience_check": False,
            "debug_claims": False,
        }
        # the plugin rejects X-MCP-* names in upstream_extra_headers; the secret rides request-transformer
        assert not any(h.lower().startswith("x-mcp-") for h in config["upstream_extra_headers"])
        # one secret per server, so a compromised server can't replay its secret at another
        secret = f'X-MCP-Gateway-Secret:${{{{ env "{deck_secret_var(server)}" }}}}'
        assert plugins["request-transformer"]["replace"]["headers"] == [secret]
        assert plugins["request-transformer"]["add"]["headers"] == [secret]
        assert "WWW-Authenticate" in plugins["cors"]["exposed_headers"]
        assert plugins["cors"]["preflight_continue"] is False
    secret_vars = {deck_secret_var(s) for s in manifest.enabled_servers}
    assert len(secret_vars) == len(services)
    assert all(v.startswith("DECK_") for v in secret_vars)  # decK substitutes DECK_* variables only
    text = (ROOT / "gateway" / "kong.yml").read_text()
    assert text.count("${{") == 2 * len(services)  # every secret is an env reference, nothing else is


def test_kong_config_and_dev_gateway_publish_the_same_metadata() -> None:
    manifest = load_manifest(MANIFEST)
    gateway = build_gateway(manifest, secret="x")
    for service, server in zip(kong_services(manifest), manifest.enabled_servers, strict=True):
        config = next(p["config"] for p in service["plugins"] if p["name"] == "mcp-oauth2")
        plugin_prm = {  # what kong-mcp-oauth2's access.go serves for this config
            "resource": config["gateway_origin"] + config["resource_path"],
            "authorization_servers": [config["issuer"]],
            "bearer_methods_supported": ["header"],
            "scopes_supported": config["required_scopes"],
        }
        assert json.loads(gateway.prm[server.prm_path].prm_json) == plugin_prm


def _manifest_text(gateway_port: int, issuer_port: int, servers: dict[str, int]) -> str:
    text = f'[gateway]\norigin = "http://127.0.0.1:{gateway_port}"\n\n'
    text += f'[issuer]\nurl = "http://127.0.0.1:{issuer_port}"\n\n'
    for name, port in servers.items():
        text += f'[[servers]]\nname = "{name}"\nupstream = "http://127.0.0.1:{port}"\n'
        text += f'scopes = ["{name}:read"]\n\n'
    scopes = ", ".join(f'"{name}:read"' for name in servers)
    text += f'[[dev.users]]\nname = "alice"\nscopes = [{scopes}]\n\n'
    text += '[[dev.users]]\nname = "bob"\nscopes = []\n'
    return text


async def test_dev_token_prints_only_the_token_or_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    issuer_sock = bind_loopback()  # bound now, served later: nothing can take the port in between
    issuer_port = issuer_sock.getsockname()[1]
    path = tmp_path / "fleet.toml"
    path.write_text(_manifest_text(free_port(), issuer_port, {"gitea": free_port()}))
    argv = ["--manifest", str(path), "dev", "token", "--user", "alice", "--scope", "gitea:read"]
    with anyio.fail_after(30):
        code, out, err = await anyio.to_thread.run_sync(run_cli, argv, capsys)
        assert code == 1
        assert out == ""
        assert "no dev authorization server" in err
        assert "fleet dev" in err
        app = build_auth_server(load_manifest(path), state_dir=tmp_path / "as", dev_token_endpoint=True)
        async with running_app(app, sock=issuer_sock):
            code, out, err = await anyio.to_thread.run_sync(run_cli, argv, capsys)
            assert code == 0, err
            token = out.removesuffix("\n")
            assert "\n" not in token
            claims = jwt.decode(token, options={"verify_signature": False})
            assert claims["sub"] == dev_subject("alice")  # AuthGate: a UUID, never the name
            assert claims["extra_uid"] == "alice"
            assert claims["aud"] == load_manifest(path).server("gitea").resource
            bob = [*argv[:-4], "--user", "bob", "--scope", "gitea:read"]
            code, out, err = await anyio.to_thread.run_sync(run_cli, bob, capsys)
            assert code == 1
            assert out == ""
            assert "refused" in err


async def test_fleet_dev_runs_the_fleet_reports_unavailable_servers_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    ports = {"gateway": free_port(), "issuer": free_port(), "gitea": free_port(), "ghost": free_port()}
    path = tmp_path / "fleet.toml"
    path.write_text(
        _manifest_text(ports["gateway"], ports["issuer"], {"gitea": ports["gitea"], "ghost": ports["ghost"]})
    )
    manifest = load_manifest(path)
    fleet = Path(sys.executable).parent / "fleet"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_")}
    argv = [str(fleet), "--manifest", str(path), "dev", "--no-live", "--state-dir", str(tmp_path / "state")]
    lines: list[str] = []
    with anyio.fail_after(90):
        async with await anyio.open_process(argv, stderr=subprocess.STDOUT, env=env) as process:
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
            output = "\n".join(lines)
            assert "ghost: unavailable" in output
            assert "no dev hook fleet_ghost.dev.backend" in output
            assert "gitea: ready" in output
            assert float(line.split()[-2]) > 0
            token_cmd = [
                str(fleet),
                "--manifest",
                str(path),
                "dev",
                "token",
                "--user",
                "alice",
                "--scope",
                "gitea:read",
            ]
            token = (await anyio.run_process(token_cmd, env=env)).stdout.decode().strip()
            async with httpx2.AsyncClient(timeout=10) as http:
                resource = manifest.server("gitea").resource
                challenge = await http.post(resource)
                assert challenge.status_code == 401
                assert manifest.server("gitea").prm_url in challenge.headers["www-authenticate"]
                r = await http.post(
                    resource,
                    json=call_body("whoami"),
                    headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"},
                )
                assert r.status_code == 200, r.text
                who = r.json()["result"]["structuredContent"]
                # production topology: the server verified the token itself and acts as its username claim
                assert (who["subject"], who["account"]) == (dev_subject("alice"), "alice")
            # the README's "try it" script, as a user runs it from a second terminal
            script = Path(__file__).parents[2] / "scripts" / "try-fleet"
            tried = await anyio.run_process(
                ["bash", str(script)],
                env=env
                | {
                    "GATEWAY": manifest.gateway.origin,
                    "SERVER": "gitea",
                    "FLEET": f"{fleet} --manifest {path}",
                },
            )
            shown = tried.stdout.decode()
            assert "HTTP/1.1 401" in shown
            assert f'resource_metadata="{manifest.server("gitea").prm_url}"' in shown
            assert f'"resource":"{resource}"' in shown.replace(" ", "")
            assert '"account":"alice"' in shown.replace(" ", "")
            state = json.loads((tmp_path / "state" / "dev.json").read_text())
            children = [c["pid"] for c in state["components"].values() if c["pid"]]
            assert len(children) == 3  # auth, gateway, gitea
            process.send_signal(signal.SIGINT)
            rest = b""
            with contextlib.suppress(anyio.EndOfStream):
                while True:
                    rest += await reader.receive()
            assert await process.wait() == 0
            assert b"fleet dev: stopped" in rest
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_fleet_dev_refuses_to_start_when_a_port_is_taken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        gateway_port = busy.getsockname()[1]
        path = tmp_path / "fleet.toml"
        path.write_text(_manifest_text(gateway_port, free_port(), {"gitea": free_port()}))
        argv = ["--manifest", str(path), "dev", "--no-live", "--state-dir", str(tmp_path / "state")]
        code, out, _ = run_cli(argv, capsys)
    assert code == 1
    assert "ports already in use" in out
    assert f"gateway (127.0.0.1:{gateway_port})" in out
