"""One server name → one environment prefix, wherever it is built (core settings, stdio, front door)."""

from __future__ import annotations

import pytest

from fleet_core import env_prefix, stdio_caller


@pytest.mark.parametrize(
    ("name", "prefix"), [("db", "FLEET_DB_"), ("my-svc", "FLEET_MY_SVC_"), ("a-b-2", "FLEET_A_B_2_")]
)
def test_a_hyphen_becomes_an_underscore(name: str, prefix: str) -> None:
    assert env_prefix(name) == prefix


@pytest.mark.parametrize("name", ["", "my svc", "a=b", "x;rm", "ünï", "a.b"])
def test_a_name_that_cannot_make_a_variable_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a server name"):
        env_prefix(name)


def test_stdio_reads_the_same_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEET_MY_SVC_STDIO_USER", "alice")
    monkeypatch.setenv("FLEET_MY_SVC_STDIO_SCOPES", "my-svc:read my-svc:write")
    who = stdio_caller("my-svc", who="the user")
    assert (who.subject, who.scopes) == ("alice", frozenset({"my-svc:read", "my-svc:write"}))


def test_stdio_names_the_underscored_variable_when_it_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEET_MY_SVC_STDIO_USER", raising=False)
    with pytest.raises(SystemExit, match="set FLEET_MY_SVC_STDIO_USER"):
        stdio_caller("my-svc", who="the user")
