"""CLI plumbing, configuration layering and the files generated from configuration."""

from __future__ import annotations

import io
import json
import pathlib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import pytest

from fleet_client import ConfigError
from fleet_client.cli import main, parse_arguments, parse_call_arguments
from fleet_client.config import ClientConfig, load_config
from fleet_client.generate import dumps, mcp_json, metadata_document
from fleet_core.testing import manifest_servers

REPO = Path(__file__).resolve().parents[2]
CLIENT = REPO / "client"


def _repo_config(tmp_path: pathlib.Path) -> ClientConfig:
    return load_config({"XDG_CONFIG_HOME": str(tmp_path)}, manifest=REPO / "fleet.toml")


@pytest.mark.parametrize("fmt", ["vscode", "claude"])
def test_committed_mcp_configs_are_in_sync_with_the_manifest(
    fmt: Literal["vscode", "claude"], tmp_path: pathlib.Path
) -> None:
    committed = (CLIENT / "mcp-configs" / f"{fmt}.mcp.json").read_text()
    assert committed == dumps(mcp_json(_repo_config(tmp_path), fmt)), (
        f"regenerate: uv run fleet-client config --format {fmt} > client/mcp-configs/{fmt}.mcp.json"
    )


def test_mcp_configs_list_every_enabled_server_of_the_manifest(tmp_path: pathlib.Path) -> None:
    config = _repo_config(tmp_path)
    vscode = mcp_json(config, "vscode")["servers"]
    claude = mcp_json(config, "claude")["mcpServers"]
    assert vscode == claude
    assert {name.removeprefix("fleet-") for name in vscode} == {s.name for s in config.servers}
    assert all(
        entry["type"] == "http" and entry["url"].startswith(config.gateway) for entry in vscode.values()
    )


def test_shipped_client_metadata_document_is_a_valid_cimd() -> None:
    document = json.loads((CLIENT / "client-metadata.json").read_text())
    url = document["client_id"]
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert parts.path not in ("", "/")
    assert document == metadata_document(url)  # regenerate with `fleet-client metadata-document`
    assert document["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in document
    assert document["redirect_uris"] == ["http://127.0.0.1:8765/callback"]


@pytest.mark.parametrize(
    "url", ["http://example.com/cm.json", "https://example.com", "https://example.com/", "https://e.com/x#f"]
)
def test_metadata_document_url_must_be_https_with_a_path(url: str) -> None:
    with pytest.raises(ConfigError, match="https with a path"):
        metadata_document(url)


def test_call_arguments_are_json_literals_or_strings() -> None:
    args = parse_call_arguments(["n=3", "flag=true", "name=alice", "ids=[1,2]", "empty=", "q=a=b"], None)
    assert args == {"n": 3, "flag": True, "name": "alice", "ids": [1, 2], "empty": "", "q": "a=b"}
    assert parse_call_arguments([], '{"sql": "select 1"}') == {"sql": "select 1"}


@pytest.mark.parametrize(
    ("pairs", "json_text", "message"),
    [
        (["novalue"], None, "not key=value"),
        (["a=1"], "{}", "either"),
        ([], "[1]", "JSON object"),
        ([], "{bad", "not valid JSON"),
    ],
)
def test_bad_call_arguments_are_refused(pairs: list[Any], json_text: str | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_call_arguments(pairs, json_text)


def test_configuration_layers_manifest_then_file_then_environment(tmp_path: pathlib.Path) -> None:
    file = tmp_path / "client.toml"
    file.write_text(
        'gateway = "https://mcp.example.com"\nissuer = "https://auth.example.com"\nclient_id = "kong-cli"\n'
    )
    env = {
        "FLEET_CLIENT_CONFIG": str(file),
        "XDG_CONFIG_HOME": str(tmp_path),
        "FLEET_CLIENT_REDIRECT_PORT": "8765",
        "FLEET_CLIENT_METADATA_URL": "https://fleet.example.com/fleet-client/client-metadata.json",
    }
    config = load_config(env, manifest=REPO / "fleet.toml")
    # Kong + AuthGate by configuration only: the manifest's servers, behind the configured gateway.
    assert config.server("gitea").url == "https://mcp.example.com/mcp/gitea"
    assert config.issuer == "https://auth.example.com"
    assert config.client_id == "kong-cli"
    assert config.redirect_port == 8765
    assert config.client_metadata_url is not None
    assert load_config({**env, "FLEET_CLIENT_CLIENT_ID": ""}, manifest=REPO / "fleet.toml").client_id is None


def test_defaults_work_against_fleet_dev(tmp_path: pathlib.Path) -> None:
    config = load_config({"XDG_CONFIG_HOME": str(tmp_path)}, cwd=REPO / "client")  # finds ../fleet.toml
    assert config.gateway == "http://127.0.0.1:8700"
    assert config.issuer == "http://127.0.0.1:8701"
    assert config.client_id == "fleet-client"
    assert config.server("db").url == "http://127.0.0.1:8700/mcp/db"
    assert config.server("https://other.example/mcp").url == "https://other.example/mcp"
    with pytest.raises(ConfigError, match="unknown server 'nope'"):
        config.server("nope")


def test_cli_servers_as_json(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("FLEET_MANIFEST", str(REPO / "fleet.toml"))
    out = io.StringIO()
    assert main(["--output", "json", "servers"], out=out) == 0
    rows = json.loads(out.getvalue())
    assert [r["name"] for r in rows] == manifest_servers(REPO)
    assert not any(r["logged_in"] for r in rows)


def test_cli_reports_an_unknown_server_clearly(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("FLEET_MANIFEST", str(REPO / "fleet.toml"))
    assert main(["call", "nope", "whoami"], out=io.StringIO()) == 2
    assert "unknown server 'nope'" in capsys.readouterr().err


def test_cli_refuses_an_unsafe_server_url_before_any_request(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("FLEET_MANIFEST", str(REPO / "fleet.toml"))
    assert main(["tools", "http://169.254.169.254/mcp"], out=io.StringIO()) == 2
    assert "link-local" in capsys.readouterr().err


def test_client_credentials_flag_works_before_and_after_the_command() -> None:
    before = parse_arguments(["--client-credentials", "login"])
    after = parse_arguments(["login", "--client-credentials"])
    assert before.client_credentials or before.login_client_credentials
    assert after.login_client_credentials


def test_an_unreachable_front_door_is_named_with_a_hint() -> None:
    import httpx2

    from fleet_client.errors import explain

    down = httpx2.ConnectError(
        "All connection attempts failed", request=httpx2.Request("POST", "http://127.0.0.1:8700/mcp/db")
    )
    assert explain(ExceptionGroup("wrapped", [down])) == (
        "network error: http://127.0.0.1:8700/mcp/db: All connection attempts failed "
        "(is the front door running? locally: `uv run fleet dev`)"
    )
    assert explain(httpx2.ReadTimeout("timed out")) == "network error: timed out"  # no request attached
