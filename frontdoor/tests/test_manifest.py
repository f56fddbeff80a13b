import pathlib
from pathlib import Path

import pytest

from fleet_frontdoor.manifest import ManifestError, find_manifest, load_manifest

REPO_MANIFEST = Path(__file__).resolve().parents[2] / "fleet.toml"

GOOD = """
[gateway]
origin = "http://127.0.0.1:8700"

[issuer]
url = "http://127.0.0.1:8701"

[[servers]]
name = "db"
upstream = "http://127.0.0.1:8710"
scopes = ["db:read", "db:write"]

[[servers]]
name = "wiki"
upstream = "http://127.0.0.1:8713"
scopes = ["wiki:read"]
enabled = false

[[dev.users]]
name = "alice"
scopes = ["db:read", "db:write"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    return path


def test_repo_manifest_loads() -> None:
    m = load_manifest(REPO_MANIFEST)
    assert {s.name for s in m.servers} >= {"db", "gitea", "sentry", "wiki"}
    assert m.issuer.url == "http://127.0.0.1:8701"
    assert m.user("alice") is not None
    public, confidential = m.client("fleet-client"), m.client("ci-bot")
    assert public is not None
    assert public.type == "public"
    assert confidential is not None
    assert confidential.secret_env  # the secret itself is never in the file


def test_derived_urls(tmp_path: pathlib.Path) -> None:
    m = load_manifest(write(tmp_path, GOOD))
    db = m.server("db")
    assert db.path == "/mcp/db"
    assert db.resource == "http://127.0.0.1:8700/mcp/db"
    assert db.prm_url == "http://127.0.0.1:8700/.well-known/oauth-protected-resource/mcp/db"
    assert m.gateway.upstream_auth_mode == "passthrough"  # the production topology is the default
    assert m.gateway.leeway_seconds == 30


def test_disabled_servers_are_not_resources(tmp_path: pathlib.Path) -> None:
    m = load_manifest(write(tmp_path, GOOD))
    assert [s.name for s in m.enabled_servers] == ["db"]
    assert m.resources == ("http://127.0.0.1:8700/mcp/db",)
    assert m.server("wiki").enabled is False


def test_unknown_server_raises_keyerror(tmp_path: pathlib.Path) -> None:
    m = load_manifest(write(tmp_path, GOOD))
    with pytest.raises(KeyError, match="nope"):
        m.server("nope")


def test_env_var_and_walk_up(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, GOOD)
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.delenv("FLEET_MANIFEST", raising=False)
    monkeypatch.chdir(nested)
    assert find_manifest() == path
    assert load_manifest().server("db").name == "db"
    other = tmp_path / "other.toml"
    other.write_text(GOOD.replace("8700", "8800"))
    monkeypatch.setenv("FLEET_MANIFEST", str(other))
    assert load_manifest().gateway.origin == "http://127.0.0.1:8800"


def test_missing_manifest_is_a_clear_error(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEET_MANIFEST", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ManifestError, match=r"no fleet\.toml found"):
        load_manifest()
    with pytest.raises(ManifestError, match="cannot read"):
        load_manifest(tmp_path / "absent.toml")


def test_bad_toml(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ManifestError, match="not valid TOML"):
        load_manifest(write(tmp_path, "[gateway\n"))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('origin = "http://127.0.0.1:8700"', 'origin = "http://127.0.0.1:8700/"', "must be an origin"),
        ('origin = "http://127.0.0.1:8700"', 'origin = "http://127.0.0.1:8700/gw"', "must be an origin"),
        ('origin = "http://127.0.0.1:8700"', 'origin = "http://127.0.0.1:8700?x=1"', "must be an origin"),
        ('origin = "http://127.0.0.1:8700"', 'origin = "http://127.0.0.1:8700#f"', "must be an origin"),
        ('origin = "http://127.0.0.1:8700"', 'origin = "http://Gateway.Example"', "lowercase"),
        ('origin = "http://127.0.0.1:8700"', 'origin = "ftp://127.0.0.1"', "absolute http"),
        ('origin = "http://127.0.0.1:8700"', 'origin = "127.0.0.1:8700"', "absolute http"),
        ('origin = "http://127.0.0.1:8700"', 'origin = "http://u:p@127.0.0.1"', "userinfo"),
        ('url = "http://127.0.0.1:8701"', 'url = "http://127.0.0.1:8701/"', "must be an origin"),
        ('name = "db"', 'name = "DB"', "must match"),
        ('name = "db"', 'name = "1db"', "must match"),
        ('scopes = ["db:read", "db:write"]', 'scopes = ["db:write"]', "must declare scope 'db:read'"),
        ('scopes = ["db:read", "db:write"]', 'scopes = ["db:read", "db:admin"]', "must be 'db:read'"),
        ('scopes = ["db:read", "db:write"]', 'scopes = ["db:read", "wiki:read"]', "must be 'db:read'"),
        (
            'name = "wiki"\nupstream = "http://127.0.0.1:8713"\nscopes = ["wiki:read"]',
            'name = "db"\nupstream = "http://127.0.0.1:8713"\nscopes = ["db:read"]',
            "duplicate server name: db",
        ),
        ('upstream = "http://127.0.0.1:8710"', 'upstream = "127.0.0.1:8710"', "absolute http"),
        ('upstream_auth_mode = "strip"', 'upstream_auth_mode = "static"', "upstream_auth_mode"),
        ('scopes = ["db:read", "db:write"]\n\n[[servers]]', 'scopes = ["db:read"]\n\n[[servers]]', "unknown"),
    ],
)
def test_invalid_manifests(tmp_path: pathlib.Path, old: str, new: str, message: str) -> None:
    text = GOOD.replace("[issuer]", 'upstream_auth_mode = "strip"\n\n[issuer]')
    assert old in text
    with pytest.raises(ManifestError, match=message):
        load_manifest(write(tmp_path, text.replace(old, new, 1)))


def test_unknown_keys_are_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ManifestError, match=r"servers\.0\.port"):
        load_manifest(write(tmp_path, GOOD.replace('name = "db"', 'name = "db"\nport = 1')))


def test_no_servers(tmp_path: pathlib.Path) -> None:
    text = GOOD.split("[[servers]]")[0]
    with pytest.raises(ManifestError, match="servers"):
        load_manifest(write(tmp_path, text))


@pytest.mark.parametrize(
    ("client", "message"),
    [
        ('client_id = "x"\nredirect_uris = ["http://evil.example/cb"]', "https or http on a loopback"),
        ('client_id = "x"\nredirect_uris = ["https://a.example/cb#frag"]', "fragment"),
        ('client_id = "x"\nredirect_uris = ["javascript:alert(1)"]', "https or http on a loopback"),
        ('client_id = "x"\ntype = "confidential"\ngrant_types = ["client_credentials"]', "secret_env"),
        ('client_id = "x"\ngrant_types = ["client_credentials"]', "confidential"),
        ('client_id = "x"', "redirect_uris"),
        (
            'client_id = "x"\ntype = "confidential"\nsecret_env = "S"\n'
            'grant_types = ["client_credentials"]\nscopes = ["gitea:read"]',
            "unknown scopes",
        ),
    ],
)
def test_invalid_clients(tmp_path: pathlib.Path, client: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        load_manifest(write(tmp_path, GOOD + "\n[[clients]]\n" + client + "\n"))


def test_duplicate_users_and_clients(tmp_path: pathlib.Path) -> None:
    dup_user = GOOD + '\n[[dev.users]]\nname = "alice"\n'
    with pytest.raises(ManifestError, match="duplicate dev user: alice"):
        load_manifest(write(tmp_path, dup_user))
    client = '\n[[clients]]\nclient_id = "c"\nredirect_uris = ["http://127.0.0.1/cb"]\n'
    with pytest.raises(ManifestError, match="duplicate client_id: c"):
        load_manifest(write(tmp_path, GOOD + client + client))


def test_user_with_unknown_scope(tmp_path: pathlib.Path) -> None:
    text = GOOD.replace(
        'name = "alice"\nscopes = ["db:read", "db:write"]', 'name = "alice"\nscopes = ["x:read"]'
    )
    with pytest.raises(ManifestError, match=r"dev user 'alice': unknown scopes \['x:read'\]"):
        load_manifest(write(tmp_path, text))


def test_dump_and_validate_round_trip_keeps_resources() -> None:
    m = load_manifest(REPO_MANIFEST)
    again = type(m).model_validate(m.model_dump())
    assert again.resources == m.resources
    assert again.server("db").prm_url == m.server("db").prm_url
