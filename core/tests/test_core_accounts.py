"""user_map / account_source: which backend account a caller acts as (DESIGN §3.3)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pydantic
import pytest

from fleet_core import ServerSettings, ToolError
from fleet_core.testing import identity, settings_for


def settings(**overrides: Any) -> ServerSettings:
    return settings_for(ServerSettings, **overrides)


def test_a_dict_maps_subjects_and_the_rest_act_as_themselves() -> None:
    s = settings(user_map={"user-123": "alice"})
    assert s.account_for("user-123") == "alice"
    assert s.account_for("bob") == "bob"
    assert s.account_source == "subject"  # the default outside jwt mode


def test_user_map_source_gives_no_account_to_an_unmapped_subject() -> None:
    s = settings(user_map={"user-123": "alice"}, account_source="user_map")
    assert s.account_for("user-123") == "alice"
    assert s.account_for("bob") is None
    assert s.account_for("alice") is None  # a mapped *account* name is not a subject


def test_claim_source_reads_the_username_claim_and_the_map_still_wins() -> None:
    s = settings(trust_mode="jwt", user_map={"client:ci-bot": "ci"})
    assert s.account_source == "claim"  # the default in jwt mode
    uuid_sub = "0b4f3c1e-8a4f-4b52-9a3e-5d6f7a8b9c0d"
    assert s.account_for(uuid_sub, {"sub": uuid_sub, "extra_uid": "alice"}) == "alice"
    assert s.account_for(uuid_sub, {"sub": uuid_sub}) is None  # no claim: no account, never the sub
    assert s.account_for(uuid_sub, {"extra_uid": ""}) is None
    assert s.account_for(uuid_sub, {"extra_uid": 7}) is None
    assert s.account_for(uuid_sub, {"extra_uid": "al\nice"}) is None
    assert s.account_for(uuid_sub, {"extra_uid": " alice"}) is None
    assert s.account_for("client:ci-bot", {"sub": "client:ci-bot"}) == "ci"
    other = settings(trust_mode="jwt", account_claim="preferred_username")
    assert other.account_for(uuid_sub, {"preferred_username": "bob", "extra_uid": "x"}) == "bob"


def test_claim_source_needs_jwt_mode() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"account_source=claim .* needs trust_mode=jwt"):
        settings(account_source="claim")


def test_account_of_refuses_with_a_reason_naming_the_setting() -> None:
    s = settings(trust_mode="jwt")
    who = identity("0b4f3c1e-8a4f-4b52-9a3e-5d6f7a8b9c0d", audience=s.public_url, account=None)
    with pytest.raises(
        ToolError, match=r"no Gitea account name: the token carries no usable `extra_uid` claim"
    ):
        s.account_of(who, "Gitea")
    with pytest.raises(ToolError, match="FLEET_USER_MAP has no entry"):
        settings(account_source="user_map").account_of(who, "Gitea")
    assert s.account_of(identity("x", audience=s.public_url, account="bob"), "Gitea") == "bob"


def test_the_default_is_an_empty_map_and_the_subject() -> None:
    s = settings()
    assert s.user_map == {}
    assert s.account_for("client:ci-bot") == "client:ci-bot"
    assert settings(account_source="user_map").account_for("anyone") is None


def test_a_json_string_and_an_at_file_are_read(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"sub-1": "bob", "sub-2": "Zoë"}), encoding="utf-8")
    assert settings(user_map='{"sub-1": "carol"}').user_map == {"sub-1": "carol"}
    assert settings(user_map=f"@{path}").user_map == {"sub-1": "bob", "sub-2": "Zoë"}
    assert settings(user_map="").user_map == {}


def test_the_environment_form_is_not_json_decoded_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "users.json"
    path.write_text('{"sub-1": "bob"}')
    monkeypatch.setenv("FLEET_TRUST_MODE", "insecure-dev")
    monkeypatch.setenv("FLEET_USER_MAP", f"@{path}")
    monkeypatch.setenv("FLEET_ACCOUNT_SOURCE", "user_map")
    s = ServerSettings()
    assert (s.account_for("sub-1"), s.account_for("sub-2")) == ("bob", None)
    monkeypatch.setenv("FLEET_USER_MAP", '{"sub-3": "dave"}')
    assert ServerSettings().user_map == {"sub-3": "dave"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("@/nonexistent/users.json", "cannot read user_map file /nonexistent/users.json"),
        ('{"sub-1": "bob"', "user_map is not valid JSON"),
        ('["bob"]', "user_map must be a JSON object of subject → account"),
        ('{"sub-1": 7}', "must be non-empty strings, got 7"),
        ('{"sub-1": ""}', "must be non-empty strings, got ''"),
        ('{" ": "bob"}', "must be non-empty strings, got ' '"),
        ('{"sub-1": "bob\\r\\nX-Evil: 1"}', "control character in"),
        ({"sub\x00": "bob"}, "control character in"),
        ({"sub-1": "bob\x7f"}, "control character in"),
    ],
)
def test_a_bad_map_is_refused_with_a_clear_message(value: object, message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        settings(user_map=value)


def test_a_bad_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text("{not json")
    with pytest.raises(pydantic.ValidationError, match=re.escape(f"user_map file {path} is not valid JSON")):
        settings(user_map=f"@{path}")
    path.write_bytes(b'{"sub-1": "\xff"}')
    with pytest.raises(pydantic.ValidationError, match=re.escape(f"cannot read user_map file {path}")):
        settings(user_map=f"@{path}")


def test_account_source_takes_only_the_three_sources() -> None:
    with pytest.raises(pydantic.ValidationError, match="account_source"):
        settings(account_source="map")
