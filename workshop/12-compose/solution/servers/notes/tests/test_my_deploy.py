"""My test of the compose stack (workshop chapter 12): Compose itself (the real `docker compose config`,
no Docker engine needed) runs notes behind Kong with its own gateway secret, taken from .env."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet_frontdoor.testing import ComposeRefused, compose_config, example_env

ROOT = Path(__file__).resolve().parents[3]  # the repo: compose.yaml, .env.example


# --8<-- [start:test]
def test_compose_runs_notes_with_its_own_secret_from_env() -> None:
    env = example_env(ROOT)  # every variable of .env.example, each a made-up value
    notes = compose_config(ROOT, env)["services"]["mcp-notes"]
    assert notes["build"]["args"]["SERVER"] == "notes"  # the one Dockerfile, for notes
    assert "ports" not in notes  # no published port: only Kong reaches it
    environment = notes["environment"]
    assert environment["FLEET_NOTES_TRUST_MODE"] == "jwt"  # it checks the token itself, too
    assert environment["FLEET_NOTES_GATEWAY_SECRETS"] == env["FLEET_GATEWAY_SECRET_NOTES"]
    assert env["FLEET_GATEWAY_SECRET_GITEA"] not in environment.values()  # only its own secret
    del env["FLEET_GATEWAY_SECRET_NOTES"]
    with pytest.raises(ComposeRefused, match="FLEET_GATEWAY_SECRET_NOTES"):
        compose_config(ROOT, env)  # no secret in compose.yaml: without .env's, Compose stops


# --8<-- [end:test]
