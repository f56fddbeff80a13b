"""Token storage: 0600 files, one per (issuer, resource), XDG-aware location (C12, C16, SEP-2352)."""

from __future__ import annotations

import pathlib
import stat

from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from fleet_client.config import load_config
from fleet_client.storage import FileTokenStorage, forget, stored_grants

GITEA = "https://gw.example/mcp/gitea"
SENTRY = "https://gw.example/mcp/sentry"
AS1, AS2 = "https://as1.example", "https://as2.example"


def _mode(path: pathlib.Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_token_files_are_readable_only_by_the_user(tmp_path: pathlib.Path) -> None:
    storage = FileTokenStorage(tmp_path / "state", GITEA, issuer=AS1)
    await storage.set_tokens(OAuthToken(access_token="a", expires_in=60, refresh_token="r"))
    assert storage.path is not None
    assert _mode(storage.path) == 0o600
    assert _mode(storage.path.parent) == 0o700
    assert _mode(storage.path.parent.parent) == 0o700
    stored = await storage.get_tokens()
    assert stored is not None
    assert stored.access_token == "a"


async def test_tokens_are_separated_per_resource(tmp_path: pathlib.Path) -> None:
    gitea = FileTokenStorage(tmp_path, GITEA, issuer=AS1)
    sentry = FileTokenStorage(tmp_path, SENTRY, issuer=AS1)
    await gitea.set_tokens(OAuthToken(access_token="gitea-token"))
    assert await sentry.get_tokens() is None
    await sentry.set_tokens(OAuthToken(access_token="sentry-token"))
    stored = await gitea.get_tokens()
    assert stored is not None
    assert stored.access_token == "gitea-token"
    assert gitea.path != sentry.path


async def test_tokens_are_separated_per_issuer(tmp_path: pathlib.Path) -> None:
    first = FileTokenStorage(tmp_path, GITEA, issuer=AS1)
    await first.set_tokens(OAuthToken(access_token="from-as1"))
    assert await FileTokenStorage(tmp_path, GITEA, issuer=AS2).get_tokens() is None
    assert await FileTokenStorage(tmp_path, GITEA).get_tokens() is None  # issuer not known yet: nothing


async def test_a_file_copied_to_another_resource_is_not_trusted(tmp_path: pathlib.Path) -> None:
    gitea = FileTokenStorage(tmp_path, GITEA, issuer=AS1)
    await gitea.set_tokens(OAuthToken(access_token="gitea-token"))
    sentry = FileTokenStorage(tmp_path, SENTRY, issuer=AS1)
    assert sentry.path is not None
    assert gitea.path is not None
    sentry.path.parent.mkdir(parents=True)
    sentry.path.write_bytes(gitea.path.read_bytes())
    assert await sentry.get_tokens() is None


async def test_preregistered_client_is_used_until_a_registration_is_stored(tmp_path: pathlib.Path) -> None:
    pre = OAuthClientInformationFull(client_id="fleet-client")
    storage = FileTokenStorage(tmp_path, GITEA, issuer=AS1, preregistered=pre)
    stored = await storage.get_client_info()
    assert stored is not None
    assert stored.client_id == "fleet-client"
    await storage.set_client_info(OAuthClientInformationFull(client_id="dcr-123"))
    stored = await storage.get_client_info()
    assert stored is not None
    assert stored.client_id == "dcr-123"


async def test_stored_grants_and_forget(tmp_path: pathlib.Path) -> None:
    await FileTokenStorage(tmp_path, GITEA, issuer=AS1).set_tokens(
        OAuthToken(access_token="a", scope="gitea:read")
    )
    await FileTokenStorage(tmp_path, SENTRY, issuer=AS1).set_tokens(OAuthToken(access_token="b"))
    assert {g.resource for g in stored_grants(tmp_path)} == {GITEA, SENTRY}
    assert forget(tmp_path, GITEA) == 1
    assert [g.resource for g in stored_grants(tmp_path)] == [SENTRY]
    assert forget(tmp_path) == 1
    assert stored_grants(tmp_path) == []


def test_state_dir_follows_xdg_config_home(tmp_path: pathlib.Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}
    config = load_config(env, cwd=tmp_path)
    assert config.state_dir == tmp_path / "xdg" / "fleet-client"
    relative = load_config({"XDG_CONFIG_HOME": "relative/ignored"}, cwd=tmp_path)
    assert relative.state_dir.name == "fleet-client"
    assert relative.state_dir.is_absolute()
