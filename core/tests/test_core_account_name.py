"""Subject vs account name through the gate (DESIGN §3): AuthGate puts a UUID in `sub` and the
username in `extra_uid`; the server acts as the username, audits both, and refuses when there is none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import pytest
from mcp.server.mcpserver import Context, MCPServer

from fleet_core import ServerSettings, TrustMode, caller, create_server, dev_subject, requires
from fleet_core.testing import (
    MCP_HEADERS,
    JwtIssuer,
    call_body,
    identity,
    identity_headers,
    serve_server,
    settings_for,
)

RESOURCE = "http://127.0.0.1:8700/mcp/test"
ALICE = dev_subject("alice")


@dataclass
class Acting:
    """A server whose `act` tool answers the account name `settings` gives the caller."""

    mcp: MCPServer
    settings: dict[str, ServerSettings]  # "settings": what the next post() serves with


@pytest.fixture
def acting() -> Acting:
    mcp = create_server("test")
    box: dict[str, ServerSettings] = {}

    @mcp.tool(meta=requires("test:read"))
    async def act(ctx: Context[Any, Any]) -> str:
        """Return the account name the server would act as."""
        return str(box["settings"].account_of(caller(ctx), "Backend"))

    return Acting(mcp, box)


async def post(acting: Acting, headers: dict[str, str], tool: str, **settings: Any) -> dict[str, Any]:
    config = settings_for(name="test", **settings)
    acting.settings["settings"] = config
    with anyio.fail_after(15):
        async with serve_server(acting.mcp, config) as url, httpx2.AsyncClient() as http:
            response = await http.post(url, json=call_body(tool), headers=MCP_HEADERS | headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


async def test_an_authgate_token_acts_as_the_username_and_audits_both(
    acting: Acting, audit_lines: list[dict[str, Any]]
) -> None:
    async with JwtIssuer() as issuer:
        token = issuer.mint(RESOURCE, scope="test:read")  # sub = UUID, extra_uid = alice
        auth = {"Authorization": f"Bearer {token}"}
        who = await post(acting, auth, "whoami", trust_mode=TrustMode.JWT, issuer=issuer.url)
        acted = await post(acting, auth, "act", trust_mode=TrustMode.JWT, issuer=issuer.url)
    assert who["structuredContent"]["subject"] == ALICE
    assert who["structuredContent"]["account"] == "alice"
    assert acted["content"][0]["text"] == "alice"
    line = audit_lines[-1]
    assert (line["subject"], line["account"], line["tool"], line["outcome"]) == (ALICE, "alice", "act", "ok")


async def test_a_token_without_the_username_claim_is_refused_never_the_service_account(
    acting: Acting, audit_lines: list[dict[str, Any]]
) -> None:
    async with JwtIssuer() as issuer:
        token = issuer.mint(RESOURCE, scope="test:read", extra_uid=None)
        auth = {"Authorization": f"Bearer {token}"}
        who = await post(acting, auth, "whoami", trust_mode=TrustMode.JWT, issuer=issuer.url)
        acted = await post(acting, auth, "act", trust_mode=TrustMode.JWT, issuer=issuer.url)
        # a client-credentials token (sub client:<uuid>, no username) likewise, unless mapped
        machine = issuer.mint(RESOURCE, scope="test:read", sub="client:9f0c", user_id=None, extra_uid=None)
        mapped = await post(
            acting,
            {"Authorization": f"Bearer {machine}"},
            "act",
            trust_mode=TrustMode.JWT,
            issuer=issuer.url,
            user_map={"client:9f0c": "ci-bot"},
        )
    assert who["structuredContent"]["account"] is None
    assert acted["isError"] is True
    text = acted["content"][0]["text"]
    assert f"{ALICE!r} has no Backend account name" in text
    assert "no usable `extra_uid` claim" in text
    assert "service account" in text
    assert mapped["content"][0]["text"] == "ci-bot"
    refused = next(r for r in audit_lines if r.get("tool") == "act")
    assert (refused["subject"], refused["account"], refused["outcome"]) == (ALICE, None, "tool_error")


async def test_the_username_claim_is_never_taken_from_a_header(acting: Acting) -> None:
    """A passthrough gateway forwards X-MCP-* headers that must agree with the token; there is no
    account header at all, so nothing a client sends can choose the account."""
    async with JwtIssuer() as issuer:
        token = issuer.mint(RESOURCE, scope="test:read", extra_uid=None)
        acted = await post(
            acting,
            {"Authorization": f"Bearer {token}", "X-MCP-Account": "admin", "X-MCP-Extra-Uid": "admin"},
            "act",
            trust_mode=TrustMode.JWT,
            issuer=issuer.url,
        )
    assert acted["isError"] is True


async def test_gateway_secret_mode_maps_the_uuid_subject_through_the_user_map(acting: Acting) -> None:
    who = identity(ALICE, "test:read", audience=RESOURCE)
    headers = identity_headers(who) | {"X-MCP-Gateway-Secret": "test-gateway-secret-0123456789"}
    mapped = await post(acting, headers, "act", account_source="user_map", user_map={ALICE: "alice"})
    unmapped = await post(acting, headers, "act", account_source="user_map")
    assert mapped["content"][0]["text"] == "alice"
    assert unmapped["isError"] is True
    assert "FLEET_USER_MAP has no entry for it" in unmapped["content"][0]["text"]
