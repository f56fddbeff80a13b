"""user_map / unmapped_users: which backend account a caller acts as (DESIGN §3.3)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pydantic
import pytest

from fleet_core import ServerSettings
from fleet_core.testing import settings_for


def settings(**overrides: Any) -> ServerSettings:
    return settings_for(ServerSettings, **overrides)


def test_a_dict_maps_subjects_and_the_rest_act_as_themselves() -> None:
    s = settings(user_map={"user-123": "alice"})
    assert s.account_for("user-123") == "alice"
    assert s.account_for("bob") == "bob"
    assert s.unmapped_users == "identity"


def test_refuse_gives_no_account_to_an_unmapped_subject() -> None:
    s = settings(user_map={"user-123": "alice"}, unmapped_users="refuse")
    assert s.account_for("user-123") == "alice"
    assert s.account_for("bob") is None
    assert s.account_for("alice") is None  # a mapped *account* name is not a subject


def test_the_default_is_an_empty_map_and_identity() -> None:
    s = settings()
    assert s.user_map == {}
    assert s.account_for("client:ci-bot") == "client:ci-bot"
    assert settings(unmapped_users="refuse").account_for("anyone") is None


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
    monkeypatch.setenv("FLEET_UNMAPPED_USERS", "refuse")
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


def test_unmapped_users_takes_only_the_two_policies() -> None:
    with pytest.raises(pydantic.ValidationError, match="unmapped_users"):
        settings(unmapped_users="map")
