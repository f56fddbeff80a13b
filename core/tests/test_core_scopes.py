"""The scope gate (DESIGN §3.2): a call without the tool's scope is HTTP 403 with a step-up challenge."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.server.mcpserver import MCPServer

from fleet_core import READ_ONLY, WRITE, build_app, create_server, requires
from fleet_core.testing import (
    MCP_HEADERS,
    TEST_SECRET,
    acting_as,
    call_body,
    connect,
    identity,
    identity_headers,
    running_app,
    serve_server,
    settings_for,
    text_of,
)

SETTINGS = settings_for(name="test")
PRM = "http://127.0.0.1:8700/.well-known/oauth-protected-resource/mcp/test"


def headers_for(scopes: str, **extra: str) -> dict[str, str]:
    who = identity("alice", scopes, audience=SETTINGS.public_url)
    return MCP_HEADERS | identity_headers(who) | {"X-MCP-Gateway-Secret": TEST_SECRET} | extra


async def post(server: MCPServer, headers: dict[str, str], body: Any) -> httpx2.Response:
    with anyio.fail_after(15):
        async with serve_server(server, SETTINGS) as url, httpx2.AsyncClient() as http:
            content = body if isinstance(body, bytes) else None
            return await http.post(url, json=None if content else body, content=content, headers=headers)


async def test_read_scope_calling_a_write_tool_gets_the_exact_step_up_challenge(
    server: MCPServer, ran: list[str], audit_lines: list[dict[str, Any]]
) -> None:
    response = await post(server, headers_for("test:read"), call_body("change"))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        f'Bearer error="insufficient_scope", scope="test:read test:write", resource_metadata="{PRM}"'
    )
    assert response.json() == {
        "error": "insufficient_scope",
        "error_description": "this call needs scope test:read test:write",
    }
    assert ran == []
    assert audit_lines[-1]["outcome"] == "denied"
    assert audit_lines[-1]["status"] == 403
    assert audit_lines[-1]["subject"] == "alice"


async def test_write_scope_calls_the_write_tool(server: MCPServer, ran: list[str]) -> None:
    response = await post(server, headers_for("test:read test:write"), call_body("change"))
    assert response.status_code == 200
    assert ran == ["change"]


async def test_a_caller_without_this_servers_read_scope_gets_nothing(
    server: MCPServer, ran: list[str]
) -> None:
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    response = await post(server, headers_for("other:read other:write"), listing)
    assert response.status_code == 403
    assert 'scope="test:read"' in response.headers["www-authenticate"]


async def test_mcp_method_header_that_disagrees_with_the_body_is_refused(
    server: MCPServer, ran: list[str]
) -> None:
    headers = headers_for("test:read", **{"Mcp-Method": "tools/list"})
    response = await post(server, headers, call_body("echo", {"text": "x"}))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert ran == []


async def test_mcp_name_header_naming_a_read_tool_cannot_smuggle_a_write(
    server: MCPServer, ran: list[str]
) -> None:
    headers = headers_for("test:read", **{"Mcp-Method": "tools/call", "Mcp-Name": "echo"})
    response = await post(server, headers, call_body("change"))
    assert response.status_code in (400, 403)
    assert ran == []


async def test_duplicate_name_keys_resolve_like_the_sdk(server: MCPServer, ran: list[str]) -> None:
    body = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"change"}}'
    response = await post(server, headers_for("test:read"), body)
    assert response.status_code == 403
    assert ran == []


async def test_a_batch_cannot_hide_a_write_call(server: MCPServer, ran: list[str]) -> None:
    batch = [call_body("echo", {"text": "x"}, request_id=1), call_body("change", request_id=2)]
    response = await post(server, headers_for("test:read"), batch)
    assert response.status_code == 403
    assert ran == []


async def test_sdk_client_sees_the_refusal_and_no_tool_runs_in_both_eras(
    server: MCPServer, ran: list[str]
) -> None:
    who = identity("alice", "test:read", audience=SETTINGS.public_url)
    for mode in ("auto", "legacy"):
        with anyio.fail_after(15):
            async with serve_server(server, SETTINGS) as url, connect(url, identity=who, mode=mode) as client:
                with pytest.raises(MCPError):
                    await client.call_tool("change", {})
                assert text_of(await client.call_tool("echo", {"text": "ok"})) == "ok"
    assert ran == ["echo", "echo"]


async def test_tools_list_carries_each_tools_scope_and_annotations(server: MCPServer) -> None:
    who = identity("alice", "test:read", audience=SETTINGS.public_url)
    with anyio.fail_after(15):
        async with serve_server(server, SETTINGS) as url, connect(url, identity=who) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert {name: tool.meta for name, tool in tools.items()} == {
        "whoami": {"fleet/scope": "test:read"},
        "echo": {"fleet/scope": "test:read"},
        "change": {"fleet/scope": "test:write"},
    }
    assert tools["change"].annotations is not None
    assert tools["change"].annotations.read_only_hint is False
    assert tools["whoami"].annotations == READ_ONLY


def test_a_tool_without_a_declared_scope_is_refused_at_build_time() -> None:
    mcp = create_server("test")

    @mcp.tool()
    async def forgotten() -> str:
        return "oops"

    with pytest.raises(ValueError, match="'forgotten' declares no scope"):
        build_app(mcp, SETTINGS)


@pytest.mark.parametrize("scope", ["test", "test:admin", ":read", "test:Read"])
def test_scope_names_are_validated(scope: str) -> None:
    with pytest.raises(ValueError, match="must be"):
        requires(scope)


@pytest.mark.parametrize(
    "body",
    [
        b"\xef\xbb\xbf" + b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"change"}}',
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"change","x":"\\ud800"}}',
        '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"change"}}'.encode("utf-16"),
    ],
    ids=["bom", "lone-surrogate", "utf-16"],
)
async def test_a_body_the_gate_cannot_read_is_refused_not_waved_through(
    server: MCPServer, ran: list[str], body: bytes
) -> None:
    # another JSON parser might accept it and run a tool whose scope the gate never checked
    response = await post(server, headers_for("test:read"), body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert ran == []


async def test_finding7_a_tool_registered_after_build_app_still_needs_its_scope(
    server: MCPServer, ran: list[str]
) -> None:
    app = build_app(server, SETTINGS)

    @server.tool(meta=requires("test:write"), annotations=WRITE)
    async def late_write() -> str:
        """Added after the app was built (the mistake finding 12.7 is about)."""
        ran.append("late_write")
        return "written"

    @server.tool()
    async def late_undeclared() -> str:
        ran.append("late_undeclared")
        return "oops"

    with anyio.fail_after(15):
        async with running_app(app) as base, httpx2.AsyncClient() as http:
            url = base + SETTINGS.path
            refused = await http.post(url, json=call_body("late_write"), headers=headers_for("test:read"))
            assert refused.status_code == 403
            assert 'scope="test:read test:write"' in refused.headers["www-authenticate"]
            # a tool with no declared scope fails closed: even every scope there is won't run it
            for scopes in ("test:read", "test:read test:write"):
                r = await http.post(url, json=call_body("late_undeclared"), headers=headers_for(scopes))
                assert r.status_code == 403
            assert ran == []
            ok = await http.post(
                url, json=call_body("late_write"), headers=headers_for("test:read test:write")
            )
            assert ok.status_code == 200
            assert ran == ["late_write"]


async def test_finding7_in_memory_calls_fail_closed_for_an_undeclared_tool(server: MCPServer) -> None:
    @server.tool()
    async def undeclared() -> str:
        return "oops"

    who = identity("alice", "test:read test:write", audience=SETTINGS.public_url)
    with acting_as(who), anyio.fail_after(15):
        async with Client(server) as client:
            result = await client.call_tool("undeclared", {})
    assert result.is_error
    assert "insufficient scope" in text_of(result)


async def test_finding10_duplicated_mcp_name_or_method_headers_are_refused(
    server: MCPServer, ran: list[str]
) -> None:
    with anyio.fail_after(15):
        async with serve_server(server, SETTINGS) as url, httpx2.AsyncClient() as http:
            for name, values in (
                ("mcp-name", ("change", "echo")),
                ("mcp-method", ("tools/call", "tools/call")),
            ):
                headers = [(k, v) for k, v in headers_for("test:read test:write").items()]
                headers += [(name, v) for v in values]
                r = await http.post(url, json=call_body("echo", {"text": "x"}), headers=headers)
                assert r.status_code == 400, r.text
                assert r.json()["error"] == "invalid_request"
    assert ran == []
