"""Settings are validated at startup, from FLEET_WIKI_* variables."""

from __future__ import annotations

import pydantic
import pytest

from fleet_wiki.settings import WikiSettings

BASE = {
    "FLEET_WIKI_URL": "http://wiki.internal/w/",
    "FLEET_WIKI_BOT_USERNAME": "Fleetbot@fleet",
    "FLEET_WIKI_BOT_PASSWORD": "0123456789abcdef0123456789abcdef",
    "FLEET_WIKI_PUBLIC_URL": "http://127.0.0.1:8700/mcp/wiki",
    "FLEET_WIKI_GATEWAY_SECRETS": "a-gateway-secret-of-some-length",
}


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in BASE.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("FLEET_WIKI_USER_MAP", '{"alice": "Alice_Liddell"}')
    monkeypatch.setenv("FLEET_WIKI_ACCOUNT_SOURCE", "user_map")
    monkeypatch.setenv("FLEET_WIKI_READ_ONLY", "true")
    settings = WikiSettings()
    assert settings.url == "http://wiki.internal/w"
    assert settings.user_map == {"alice": "Alice_Liddell"}
    assert (settings.account_for("alice"), settings.account_for("eve")) == ("Alice_Liddell", None)
    assert settings.read_only is True
    assert "0123456789abcdef" not in repr(settings)  # the bot password stays secret


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("FLEET_WIKI_URL", "wiki.internal/w"),
        ("FLEET_WIKI_CHANGE_TAG", "bad tag|x"),
        ("FLEET_WIKI_MAX_OUTPUT_BYTES", "10"),
        ("FLEET_WIKI_TIMEOUT_SECONDS", "0"),
    ],
)
def test_bad_settings_are_refused_at_startup(monkeypatch: pytest.MonkeyPatch, key: str, value: str) -> None:
    for k, v in BASE.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv(key, value)
    with pytest.raises(pydantic.ValidationError):
        WikiSettings()
