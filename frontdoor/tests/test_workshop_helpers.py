"""The test helpers part B of the workshop hands the attendee: the validation matrix replayed through a
front door (fleet_core.testing.matrix, chapter 11) and the compose stack as the real Compose resolves it
(fleet_frontdoor.testing.compose_config, chapter 12). Each is shown to report what it sees, a broken
front door or an unset secret included."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fleet_core import ServerSettings, build_app, create_server, dev_subject
from fleet_core.testing.matrix import SPOOFED_HEADERS, Matrix, forge_signature, replay_matrix
from fleet_frontdoor.testing import ComposeRefused, compose_config, example_env, front_door

ROOT = Path(__file__).resolve().parents[2]


def _no_challenge(app: ASGIApp) -> ASGIApp:
    """A gateway with one check broken: its 401s lose their WWW-Authenticate."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def patched(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                message = {
                    **message,
                    "headers": [h for h in message["headers"] if h[0] != b"www-authenticate"],
                }
            await send(message)

        await app(scope, receive, patched if scope["type"] == "http" else send)

    return wrapped


@contextlib.asynccontextmanager
async def _matrix(tmp_path: Path, *, broken: bool = False) -> AsyncIterator[tuple[Matrix, str]]:
    wrap = _no_challenge if broken else None
    async with front_door(tmp_path, ["gitea", "sentry"], wrap_gateway=wrap) as door:
        settings = ServerSettings.model_validate(door.server_settings("gitea"))
        async with door.upstream("gitea", build_app(create_server("gitea"), settings)):
            read = await door.token("alice", "gitea:read")
            matrix = await replay_matrix(
                door.resource("gitea"),
                token=read,
                token_without_scope=await door.token("alice", "gitea:write"),
                token_for_another_resource=await door.token("alice", "sentry:read"),
            )
            yield matrix, read


async def test_the_matrix_replayed_through_the_dev_gateway(tmp_path: Path) -> None:
    async with _matrix(tmp_path) as (m, _):
        prm = m.metadata_url
        assert prm.endswith("/.well-known/oauth-protected-resource/mcp/gitea")
        assert (m.no_token.status, m.no_token.param("resource_metadata")) == (401, prm)
        assert m.no_token.param("error") is None
        assert m.metadata.status == 200
        assert m.metadata.body["resource"] == m.resource
        assert m.valid.status == 200
        assert m.valid.structured["subject"] == dev_subject("alice")
        assert (m.insufficient_scope.status, m.insufficient_scope.param("error")) == (
            403,
            "insufficient_scope",
        )
        assert m.insufficient_scope.param("scope") == "gitea:read"
        assert (m.wrong_audience.status, m.wrong_audience.param("error")) == (401, "invalid_token")
        assert (m.forged_signature.status, m.forged_signature.param("error")) == (401, "invalid_token")
        assert m.spoofed_headers.status == 200
        assert m.spoofed_headers.structured["subject"] == dev_subject("alice")
        assert m.spoofed_headers.structured["scopes"] == ["gitea:read"]
        assert "admin" not in str(m.spoofed_headers.body)
        assert set(SPOOFED_HEADERS) >= {"X-MCP-Subject", "X-MCP-Gateway-Secret"}


async def test_the_replay_reports_a_broken_gateway_as_it_is(tmp_path: Path) -> None:
    async with _matrix(tmp_path, broken=True) as (m, _):
        assert m.no_token.status == 401
        assert m.no_token.challenge == ""
        assert m.no_token.param("resource_metadata") is None
        assert m.valid.status == 200  # the rest of the gateway still works


async def test_a_forged_signature_keeps_the_claims_and_the_kid(tmp_path: Path) -> None:
    async with _matrix(tmp_path) as (_, token):
        forged = forge_signature(token)
    assert forged != token
    assert jwt.get_unverified_header(forged)["kid"] == jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(forged, options={"verify_signature": False})
    assert claims == jwt.decode(token, options={"verify_signature": False})


def test_compose_config_is_the_real_compose_resolving_the_stack() -> None:
    env = example_env(ROOT)
    assert env["FLEET_GATEWAY_SECRET_GITEA"] == "example-fleet_gateway_secret_gitea"
    stack = compose_config(ROOT, env)
    gitea = stack["services"]["mcp-gitea"]
    assert gitea["environment"]["FLEET_GITEA_GATEWAY_SECRETS"] == env["FLEET_GATEWAY_SECRET_GITEA"]
    assert gitea["build"]["args"]["SERVER"] == "gitea"
    assert "ports" not in gitea


def test_compose_config_refuses_a_stack_with_a_secret_unset() -> None:
    env = example_env(ROOT)
    del env["FLEET_GATEWAY_SECRET_GITEA"]
    with pytest.raises(ComposeRefused, match="FLEET_GATEWAY_SECRET_GITEA"):
        compose_config(ROOT, env)
    broken = ROOT / "tests"  # a folder without compose.yaml: Compose says so
    with pytest.raises(ComposeRefused):
        compose_config(broken, example_env(ROOT))
