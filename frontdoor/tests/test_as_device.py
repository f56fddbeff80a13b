"""Dev authorization server: RFC 8628 device flow (checklist A15, C17 server side)."""

import pathlib
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from fleet_core import dev_subject
from fleet_frontdoor.authserver import build_auth_server
from fleet_frontdoor.authserver.browser import approve_device, form_fields
from fleet_frontdoor.authserver.testing import Clock, asgi_client, sample_manifest, seeded

ISSUER = "http://127.0.0.1:8701"
DB = "http://127.0.0.1:8700/mcp/db"
GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(tmp_path: pathlib.Path, clock: Clock) -> Starlette:
    return build_auth_server(sample_manifest(), state_dir=seeded(tmp_path), clock=clock)


async def start(http: httpx2.AsyncClient, **overrides: str) -> dict[str, Any]:
    data = {"client_id": "fleet-client", "scope": "db:read db:write", "resource": DB, **overrides}
    r = await http.post("/oauth/device/code", data=data)
    assert r.status_code == 200, r.text
    value: dict[str, Any] = r.json()
    return value


async def poll(
    http: httpx2.AsyncClient, device_code: str, client_id: str = "fleet-client"
) -> httpx2.Response:
    data = {"grant_type": GRANT, "device_code": device_code, "client_id": client_id}
    return await http.post("/oauth/token", data=data)


async def test_device_code_response_shape(app: Starlette) -> None:
    """Checklist A15."""
    async with asgi_client(app) as http:
        body = await start(http)
    assert body.keys() >= {"device_code", "user_code", "verification_uri", "verification_uri_complete"}
    assert body["verification_uri"] == f"{ISSUER}/device"
    assert body["verification_uri_complete"] == f"{ISSUER}/device?user_code={body['user_code']}"
    assert body["expires_in"] == 1800
    assert body["interval"] == 5
    assert len(body["user_code"]) == 9
    assert body["user_code"][4] == "-"


async def test_device_flow_approved(app: Starlette, clock: Clock) -> None:
    async with asgi_client(app) as http:
        body = await start(http)
        assert (await poll(http, body["device_code"])).json()["error"] == "authorization_pending"
        text = await approve_device(body["verification_uri_complete"], user="bob", http=http)
        assert "Device connected" in text
        clock.now += 5
        r = await poll(http, body["device_code"])
        assert r.status_code == 200, r.text
        tokens = r.json()
        assert tokens["scope"] == "db:read"  # bob holds only db:read
        assert tokens["refresh_token"]
        me = await http.get("/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert me.json()["sub"] == dev_subject("bob")
        clock.now += 5
        again = await poll(http, body["device_code"])
    assert again.json()["error"] == "invalid_grant"


async def test_polling_too_fast_gets_slow_down(app: Starlette, clock: Clock) -> None:
    async with asgi_client(app) as http:
        body = await start(http)
        assert (await poll(http, body["device_code"])).json()["error"] == "authorization_pending"
        fast = await poll(http, body["device_code"])
        assert fast.json()["error"] == "slow_down"
        clock.now += 6  # the interval is now 10 s
        assert (await poll(http, body["device_code"])).json()["error"] == "slow_down"
        clock.now += 15  # each slow_down added 5 s: 15 s now
        assert (await poll(http, body["device_code"])).json()["error"] == "authorization_pending"


async def test_denied_device_gets_access_denied(app: Starlette, clock: Clock) -> None:
    async with asgi_client(app) as http:
        body = await start(http)
        await approve_device(body["verification_uri_complete"], decision="deny", http=http)
        r = await poll(http, body["device_code"])
    assert r.status_code == 400
    assert r.json()["error"] == "access_denied"


async def test_expired_device_code(app: Starlette, clock: Clock) -> None:
    async with asgi_client(app) as http:
        body = await start(http)
        clock.now += 1801
        r = await poll(http, body["device_code"])
        page = await http.get(body["verification_uri_complete"])
        action, fields = form_fields(page.text)
        late = await http.post(action, data={**fields, "user_code": body["user_code"], "user": "alice"})
    assert r.json()["error"] == "expired_token"
    assert "Unknown or expired code" in late.text


async def test_device_code_is_bound_to_its_client_and_unknown_codes_fail(app: Starlette) -> None:
    async with asgi_client(app) as http:
        body = await start(http)
        other = await poll(http, body["device_code"], client_id="web-app")
        unknown = await poll(http, "nope")
    assert other.json()["error"] in ("invalid_grant", "unauthorized_client")
    assert unknown.json()["error"] == "invalid_grant"


async def test_device_authorization_request_is_validated(app: Starlette) -> None:
    async with asgi_client(app) as http:
        bad_resource = await http.post(
            "/oauth/device/code", data={"client_id": "fleet-client", "resource": "urn:x", "scope": "db:read"}
        )
        foreign = await http.post(
            "/oauth/device/code", data={"client_id": "fleet-client", "resource": DB, "scope": "gitea:read"}
        )
        no_grant = await http.post("/oauth/device/code", data={"client_id": "web-app", "resource": DB})
        unknown = await http.post("/oauth/device/code", data={"client_id": "nobody", "resource": DB})
    assert bad_resource.json()["error"] == "invalid_target"
    assert foreign.json()["error"] == "invalid_scope"
    assert no_grant.json()["error"] == "unauthorized_client"
    assert unknown.status_code == 401


async def test_device_confirm_page_shows_client_resource_and_scopes(app: Starlette) -> None:
    """Checklist A15: a resource-bound code shows a confirm page with client and resource."""
    async with asgi_client(app) as http:
        body = await start(http)
        page = await http.get(body["verification_uri_complete"])
        assert page.headers["x-frame-options"] == "DENY"
        action, fields = form_fields(page.text)
        confirm = await http.post(
            action, data={**fields, "user_code": body["user_code"].lower(), "user": "alice"}
        )
    assert confirm.status_code == 200
    assert "fleet-client" in confirm.text
    assert DB in confirm.text
    assert "db:write" in confirm.text
    assert 'value="approve"' in confirm.text


async def test_device_pages_need_csrf(app: Starlette) -> None:
    async with asgi_client(app) as http:
        body = await start(http)
        await http.get(body["verification_uri_complete"])
        forged = await http.post("/device", data={"user_code": body["user_code"], "user": "alice"})
        confirm = await http.post(
            "/device/confirm", data={"user_code": body["user_code"], "decision": "approve"}
        )
        pending = await poll(http, body["device_code"])
    assert forged.status_code == 403
    assert confirm.status_code == 403
    assert pending.json()["error"] == "authorization_pending"
