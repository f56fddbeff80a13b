"""`server_main`: one entry point for every server — HTTP behind the front door, or `--stdio` as one
explicit local user; the caller is checked before anything starts, and what `start` opened is closed."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from pydantic_settings import SettingsConfigDict

import fleet_core._main as core_main
from fleet_core import ServerSettings, Started, create_server, server_main
from fleet_core.testing import TEST_SECRET


class DemoSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="FLEET_DEMO_MAIN_")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("FLEET_DEMO_MAIN_PUBLIC_URL", "http://127.0.0.1:8700/mcp/demo-main")
    monkeypatch.delenv("FLEET_DEMO_MAIN_STDIO_USER", raising=False)
    return monkeypatch


def _recording_start(log: list[str]) -> Any:
    def start(settings: DemoSettings, stack: contextlib.ExitStack) -> Started:
        log.append(f"start {settings.trust_mode}")
        stack.callback(log.append, "closed")
        return create_server("demo-main"), None

    return start


def test_stdio_without_its_user_exits_naming_the_variable_before_starting_anything(
    env: pytest.MonkeyPatch,
) -> None:
    log: list[str] = []
    with pytest.raises(SystemExit, match="set FLEET_DEMO_MAIN_STDIO_USER"):
        server_main("demo-main", DemoSettings, _recording_start(log), stdio_user="x", argv=["--stdio"])
    assert log == []


def test_stdio_runs_as_the_named_user_without_demanding_the_http_trust_settings(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("FLEET_DEMO_MAIN_STDIO_USER", "alice")
    ran: list[Any] = []
    env.setattr(core_main, "run_stdio", lambda mcp, who: ran.append((mcp.name, who.subject, who.scopes)))
    log: list[str] = []
    server_main("demo-main", DemoSettings, _recording_start(log), stdio_user="x", argv=["--stdio"])
    assert ran == [("demo-main", "alice", frozenset({"demo-main:read"}))]
    assert log == ["start insecure-dev", "closed"]


def test_http_serves_the_built_app_with_the_settings_and_closes_what_start_opened(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("FLEET_DEMO_MAIN_GATEWAY_SECRETS", TEST_SECRET)
    served: list[Any] = []
    env.setattr(core_main, "serve", lambda app, settings: served.append(settings))
    log: list[str] = []
    server_main("demo-main", DemoSettings, _recording_start(log), stdio_user="x", argv=[])
    assert [s.public_url for s in served] == ["http://127.0.0.1:8700/mcp/demo-main"]
    assert log == ["start gateway-secret", "closed"]


def test_http_with_invalid_settings_lists_the_problem_without_a_traceback(env: pytest.MonkeyPatch) -> None:
    env.delenv("FLEET_DEMO_MAIN_GATEWAY_SECRETS", raising=False)
    with pytest.raises(SystemExit, match=r"fleet-demo-main: invalid settings:\n"):
        server_main("demo-main", DemoSettings, _recording_start([]), stdio_user="x", argv=[])
