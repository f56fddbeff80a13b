"""The dev-only token shortcut behind `fleet dev token` (POST /dev/token and mint_dev_token)."""

import pathlib
from typing import Any

import jwt
import pytest
from starlette.applications import Starlette

from fleet_core import dev_subject
from fleet_frontdoor.authserver import DevTokenError, build_auth_server, mint_dev_token
from fleet_frontdoor.authserver.testing import asgi_client, sample_manifest, seeded

DB = "http://127.0.0.1:8700/mcp/db"
GITEA = "http://127.0.0.1:8700/mcp/gitea"


@pytest.fixture
def app(tmp_path: pathlib.Path) -> Starlette:
    return build_auth_server(sample_manifest(), state_dir=seeded(tmp_path), dev_token_endpoint=True)


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


async def test_dev_token_for_the_server_the_scope_names(app: Starlette) -> None:
    async with asgi_client(app) as http:
        r = await http.post("/dev/token", json={"user": "alice", "scope": "gitea:write gitea:read"})
        me = await http.get(
            "/oauth/userinfo", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["resource"] == GITEA
    assert body["scope"] == "gitea:read gitea:write"
    claims = claims_of(body["access_token"])
    assert claims["aud"] == GITEA
    assert claims["sub"] == dev_subject("alice")  # AuthGate: a UUID, never the name
    assert claims["extra_uid"] == "alice"
    assert claims["type"] == "access"
    assert claims["client_id"] == "fleet-dev-token"
    assert me.status_code == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"user": "bob", "scope": "db:write"}, 403),  # bob does not hold it
        ({"user": "mallory", "scope": "db:read"}, 404),
        ({"user": "alice", "scope": "db:read gitea:read"}, 400),  # two servers
        ({"user": "alice", "scope": "off:read"}, 400),  # disabled server
        ({"user": "alice", "scope": "db:admin"}, 400),
        ({"user": "alice", "scope": ""}, 400),
        ({"user": "alice"}, 400),
    ],
)
async def test_dev_token_refusals(app: Starlette, body: dict[str, Any], status: int) -> None:
    async with asgi_client(app) as http:
        r = await http.post("/dev/token", json=body)
    assert r.status_code == status
    assert "access_token" not in r.json()


async def test_dev_token_answers_loopback_peers_only(tmp_path: pathlib.Path) -> None:
    app = build_auth_server(sample_manifest(), state_dir=seeded(tmp_path), dev_token_endpoint=True)
    async with asgi_client(app, peer="192.168.1.20") as http:
        r = await http.post("/dev/token", json={"user": "alice", "scope": "db:read"})
    assert r.status_code == 403


async def test_dev_token_refuses_browser_requests(app: Starlette) -> None:
    """A web page can POST to localhost: an Origin header or a form body is refused."""
    async with asgi_client(app) as http:
        origin = await http.post(
            "/dev/token",
            json={"user": "alice", "scope": "db:read"},
            headers={"Origin": "https://evil.example"},
        )
        form = await http.post("/dev/token", data={"user": "alice", "scope": "db:read"})
        text = await http.post(
            "/dev/token",
            content=b'{"user":"alice","scope":"db:read"}',
            headers={"Content-Type": "text/plain"},
        )
    assert origin.status_code == 403
    assert form.status_code == 415
    assert text.status_code == 415


async def test_dev_token_endpoint_is_off_by_default(tmp_path: pathlib.Path) -> None:
    app = build_auth_server(sample_manifest(), state_dir=seeded(tmp_path))
    async with asgi_client(app) as http:
        r = await http.post("/dev/token", json={"user": "alice", "scope": "db:read"})
    assert r.status_code == 404


async def test_mint_dev_token_uses_the_servers_keys(tmp_path: pathlib.Path) -> None:
    token = mint_dev_token(sample_manifest(), state_dir=seeded(tmp_path), user="bob", scope="db:read")
    app = build_auth_server(sample_manifest(), state_dir=seeded(tmp_path))
    async with asgi_client(app) as http:
        jwks = (await http.get("/.well-known/jwks.json")).json()
        me = await http.get("/oauth/userinfo", headers={"Authorization": f"Bearer {token}"})
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]].key
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=DB, issuer="http://127.0.0.1:8701")
    assert claims["sub"] == dev_subject("bob")  # AuthGate: a UUID, never the name
    assert claims["extra_uid"] == "bob"
    assert me.status_code == 200


def test_mint_dev_token_refuses_scopes_the_user_lacks(tmp_path: pathlib.Path) -> None:
    with pytest.raises(DevTokenError, match="bob does not hold db:write") as info:
        mint_dev_token(sample_manifest(), state_dir=seeded(tmp_path), user="bob", scope="db:write")
    assert info.value.status == 403


async def test_an_unknown_dev_user_is_told_who_exists(app: Starlette) -> None:
    async with asgi_client(app) as http:
        r = await http.post("/dev/token", json={"user": "carla", "scope": "db:read"})
    assert r.status_code == 404
    known = ", ".join(u.name for u in sample_manifest().dev.users)
    assert r.json()["error_description"] == f"no dev user 'carla' in the manifest (dev users: {known})"
