"""The `fleet-sentry` entry point: the core's settings helper, and `--stdio` as one explicit local user."""

from __future__ import annotations

import os
import sys

import anyio
import pytest

from fleet_core.testing import text_of
from fleet_sentry.__main__ import main
from fleet_sentry.fake import FAKE_TOKEN, FakeSentry, serve_fake


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("FLEET_SENTRY_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_invalid_settings_exit_with_the_problem_listed_not_a_traceback(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setattr(sys, "argv", ["fleet-sentry", "--stdio"])
    clean_env.setenv("FLEET_SENTRY_TIMEOUT_SECONDS", "-1")
    with pytest.raises(SystemExit, match=r"fleet-sentry: invalid settings:\n  timeout_seconds: "):
        main()


def test_stdio_without_a_token_says_which_variable(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setattr(sys, "argv", ["fleet-sentry", "--stdio"])
    clean_env.setenv("FLEET_SENTRY_STDIO_USER", "bob")
    with pytest.raises(SystemExit, match="FLEET_SENTRY_AUTH_TOKEN is required"):
        main()


def test_stdio_without_a_user_names_the_variable(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setattr(sys, "argv", ["fleet-sentry", "--stdio"])
    clean_env.setenv("FLEET_SENTRY_AUTH_TOKEN", FAKE_TOKEN)
    with pytest.raises(SystemExit, match="set FLEET_SENTRY_STDIO_USER"):
        main()


async def test_stdio_acts_as_the_configured_user_with_its_scopes(clean_env: pytest.MonkeyPatch) -> None:
    from mcp import Client, StdioServerParameters

    fake = FakeSentry()
    with anyio.fail_after(60):
        async with serve_fake(fake) as base:
            env = {
                **os.environ,
                "FLEET_SENTRY_BASE_URL": base,
                "FLEET_SENTRY_AUTH_TOKEN": FAKE_TOKEN,
                "FLEET_SENTRY_ORG": "acme",
                "FLEET_SENTRY_STDIO_USER": "bob",
                "FLEET_SENTRY_STDIO_SCOPES": "sentry:read",
            }
            params = StdioServerParameters(
                command=sys.executable, args=["-m", "fleet_sentry", "--stdio"], env=env
            )
            async with Client(params) as client:
                me = await client.call_tool("whoami", {})
                write = await client.call_tool("resolve_issue", {"issue": "BACKEND-1"})
    assert me.structured_content is not None
    assert me.structured_content["subject"] == "bob"
    assert write.is_error
    assert "insufficient scope" in text_of(write)
    assert [c.method for c in fake.calls] == ["GET"]  # whoami read the organization; nothing was written
    assert fake.issues["1001"]["status"] == "unresolved"
    assert fake.violations == []
