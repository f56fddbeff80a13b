"""A hyphenated server name (`my-svc`) gives one environment prefix everywhere the front door writes it:
compose, .env.example, `fleet dev` and the gateway secret (all through `fleet_core.env_prefix`)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from fleet_core import env_prefix
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
    assert gateway_secret_var(server) == "FLEET_GATEWAY_SECRET_MY_SVC"
    text = render_compose(manifest) + render_env_example(manifest)
    names = set(re.findall(r"\bFLEET_[A-Z0-9_-]*MY[-_]SVC[A-Z0-9_-]*", text))
    assert "FLEET_MY_SVC_PUBLIC_URL" in names
    assert "FLEET_GATEWAY_SECRET_MY_SVC" in names
    assert not [n for n in names if "-" in n], names  # no FLEET_MY-SVC_…: not a shell variable name
