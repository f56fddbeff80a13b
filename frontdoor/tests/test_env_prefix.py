"""A hyphenated server name (`my-svc`) gives one environment prefix everywhere the front door writes it:
compose, .env.example, `fleet dev` and the gateway secret (all through `fleet_core.env_prefix`)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from fleet_core import env_prefix, package_name
from fleet_frontdoor import devrun
from fleet_frontdoor.compose import render_compose, render_env_example
from fleet_frontdoor.manifest import Manifest
from fleet_frontdoor.topology import gateway_secret_var

ROOT = Path(__file__).resolve().parents[2]


def with_my_svc() -> Manifest:
    data = tomllib.loads((ROOT / "fleet.toml").read_text())
    data["servers"].append(
        {
            "name": "my-svc",
            "upstream": "http://127.0.0.1:8719",
            "scopes": ["my-svc:read", "my-svc:write"],
            "description": "a server with a hyphen in its name",
        }
    )
    return Manifest.model_validate(data)


def test_every_generated_variable_of_a_hyphenated_server_uses_the_underscored_prefix() -> None:
    manifest = with_my_svc()
    server = manifest.server("my-svc")
    assert env_prefix("my-svc") == "FLEET_MY_SVC_"
    assert devrun._env_name(server) == "FLEET_MY_SVC_"
    assert package_name("my-svc") == "fleet_my_svc"  # its hooks: fleet_my_svc.dev / fleet_my_svc.deploy
    command = devrun._server_command("my-svc")  # not installed: `python -m` its package
    assert command[-2:] == ["-m", "fleet_my_svc"], command
    assert gateway_secret_var(server) == "FLEET_GATEWAY_SECRET_MY_SVC"
    text = render_compose(manifest) + render_env_example(manifest)
    names = set(re.findall(r"\bFLEET_[A-Z0-9_-]*MY[-_]SVC[A-Z0-9_-]*", text))
    assert "FLEET_MY_SVC_PUBLIC_URL" in names
    assert "FLEET_GATEWAY_SECRET_MY_SVC" in names
    assert not [n for n in names if "-" in n], names  # no FLEET_MY-SVC_…: not a shell variable name


def test_a_server_without_a_deploy_hook_gets_its_container_and_no_backend() -> None:
    """`my-svc` has no `fleet_my_svc.deploy` (it is not even installed): its container is on the `mcp`
    network (and the JWKS one) only, with the core settings and its own gateway secret, and nothing else."""
    manifest = with_my_svc()
    compose = yaml.safe_load(render_compose(manifest))
    service = compose["services"]["mcp-my-svc"]
    assert service["networks"] == ["mcp", "authgate-keys"]
    assert "depends_on" not in service
    assert "volumes" not in service
    assert not [n for n in compose["networks"] if n.startswith("my-svc")]
    assert service["environment"]["FLEET_MY_SVC_PORT"] == "8719"
    env_example = render_env_example(manifest)
    assert "FLEET_GATEWAY_SECRET_MY_SVC=" in env_example.splitlines()
    assert "my-svc" not in env_example  # no section of its own
