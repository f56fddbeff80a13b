"""The whole flow on loopback, as a user meets it: 401 → PRM → OAuth → token → identity headers → tool.

Real sockets everywhere: the dev authorization server, the dev gateway and a server built with
fleet_core, driven by the MCP SDK's own client and OAuth provider.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

from fleet_core import WRITE, ServerSettings, build_app, caller, create_server, dev_subject, requires
from fleet_frontdoor.authserver.browser import approve_device, approve_in_browser
from fleet_frontdoor.testing import FrontDoor, front_door


def notes_server(changes: list[str]) -> MCPServer:
    """A tiny server named like a manifest entry ("db") with a read tool and a write tool."""
    mcp = create_server("db")

    @mcp.tool(meta=requires("db:write"), annotations=WRITE)
    async def add_note(text: str, ctx: Context[Any, Any]) -> str:
        """Record a note as the caller."""
        changes.append(f"{caller(ctx).account}:{text}")
        return "added"

    return mcp


async def serve_notes(fd: FrontDoor, changes: list[str]) -> Any:
    settings = ServerSettings.model_validate(fd.server_settings("db"))
    return fd.upstream("db", build_app(notes_server(changes), settings))


async def test_curl_view_challenge_metadata_and_whoami(tmp_path: Path) -> None:
    changes: list[str] = []
    with anyio.fail_after(30):
        async with (
            front_door(tmp_path, ["db"]) as fd,
            await serve_notes(fd, changes),
            httpx2.AsyncClient() as http,
        ):
            challenge = await http.post(fd.resource("db"), json={})
            prm = await http.get(fd.manifest.server("db").prm_url)
            token = await fd.token("alice", "db:read")
            async with fd.connect("db", token) as client:
                who = await client.call_tool("whoami", {})
    assert challenge.status_code == 401
    assert challenge.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{fd.manifest.server("db").prm_url}", scope="db:read"'
    )
    assert prm.json()["resource"] == fd.resource("db")
    assert prm.json()["authorization_servers"] == [fd.issuer]
    assert who.structured_content is not None
    assert who.structured_content["subject"] == dev_subject("alice")  # AuthGate-shaped: a UUID
    assert who.structured_content["account"] == "alice"  # from the token's extra_uid
    assert who.structured_content["audience"] == [fd.resource("db")]
    assert changes == []


async def test_read_token_gets_the_servers_step_up_challenge_through_the_gateway(tmp_path: Path) -> None:
    changes: list[str] = []
    with anyio.fail_after(30):
        async with (
            front_door(tmp_path, ["db"]) as fd,
            await serve_notes(fd, changes),
            httpx2.AsyncClient() as http,
        ):
            read = await fd.token("alice", "db:read")
            write = await fd.token("alice", "db:read db:write")
            body = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "add_note", "arguments": {"text": "hi"}},
            }
            headers = {
                "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": "2025-11-25",
            }
            refused = await http.post(
                fd.resource("db"), json=body, headers=headers | {"Authorization": f"Bearer {read}"}
            )
            allowed = await http.post(
                fd.resource("db"), json=body, headers=headers | {"Authorization": f"Bearer {write}"}
            )
    assert refused.status_code == 403
    assert refused.headers["www-authenticate"] == (
        f'Bearer error="insufficient_scope", scope="db:read db:write", '
        f'resource_metadata="{fd.manifest.server("db").prm_url}"'
    )
    assert allowed.status_code == 200
    assert changes == ["alice:hi"]


class MemoryStorage(TokenStorage):
    def __init__(self, client: OAuthClientInformationFull) -> None:
        self.tokens: OAuthToken | None = None
        self.client = client

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


async def test_sdk_oauth_client_logs_in_with_pkce_and_steps_up_for_a_write(tmp_path: Path) -> None:
    changes: list[str] = []
    authorize_urls: list[str] = []
    box: dict[str, AuthorizationCodeResult] = {}

    async def redirect_handler(url: str) -> None:
        authorize_urls.append(url)
        location = await approve_in_browser(url, user="alice")
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        box["result"] = AuthorizationCodeResult(
            code=query["code"], state=query.get("state"), iss=query.get("iss")
        )

    async def callback_handler() -> AuthorizationCodeResult:
        return box.pop("result")

    redirect = "http://127.0.0.1:33418/callback"
    registered = OAuthClientInformationFull(
        client_id="fleet-client", redirect_uris=[redirect], token_endpoint_auth_method="none"
    )
    storage = MemoryStorage(registered)
    with anyio.fail_after(60):
        async with front_door(tmp_path, ["db"]) as fd, await serve_notes(fd, changes):
            provider = OAuthClientProvider(
                server_url=fd.resource("db"),
                client_metadata=OAuthClientMetadata(
                    redirect_uris=[redirect], token_endpoint_auth_method="none", client_name="e2e"
                ),
                storage=storage,
                redirect_handler=redirect_handler,
                callback_handler=callback_handler,
            )
            async with (
                httpx2.AsyncClient(auth=provider, timeout=30) as http,
                Client(streamable_http_client(fd.resource("db"), http_client=http)) as client,
            ):
                who = await client.call_tool("whoami", {})
                added = await client.call_tool("add_note", {"text": "stepped up"})
    assert who.structured_content is not None
    assert who.structured_content["subject"] == dev_subject("alice")  # AuthGate-shaped: a UUID
    assert who.structured_content["account"] == "alice"  # from the token's extra_uid
    assert not added.is_error
    assert changes == ["alice:stepped up"]
    first, second = (parse_qs(urlsplit(url).query) for url in authorize_urls)
    assert first["code_challenge_method"] == ["S256"]
    assert first["resource"] == [fd.resource("db")]
    assert first["scope"] == ["db:read"]
    assert set(second["scope"][0].split()) == {"db:read", "db:write"}  # SEP-2350: the union
    assert storage.tokens is not None
    assert set((storage.tokens.scope or "").split()) == {"db:read", "db:write"}


async def test_device_flow_token_works_through_the_gateway(tmp_path: Path) -> None:
    changes: list[str] = []
    with anyio.fail_after(60):
        async with (
            front_door(tmp_path, ["db"]) as fd,
            await serve_notes(fd, changes),
            httpx2.AsyncClient() as http,
        ):
            start = await http.post(
                f"{fd.issuer}/oauth/device/code",
                data={"client_id": "fleet-client", "scope": "db:read", "resource": fd.resource("db")},
            )
            grant = start.json()
            poll = {
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "device_code": grant["device_code"],
                "client_id": "fleet-client",
                "resource": fd.resource("db"),
            }
            pending = await http.post(f"{fd.issuer}/oauth/token", data=poll)
            await approve_device(grant["verification_uri_complete"], user="bob")
            issued = await http.post(f"{fd.issuer}/oauth/token", data=poll)
            async with fd.connect("db", issued.json()["access_token"]) as client:
                who = await client.call_tool("whoami", {})
    assert pending.json()["error"] in ("authorization_pending", "slow_down")
    assert issued.status_code == 200, issued.text
    assert who.structured_content is not None
    assert who.structured_content["subject"] == dev_subject("bob")
    assert who.structured_content["account"] == "bob"
    assert who.structured_content["client_id"] == "fleet-client"
