"""Trust mode `gateway-secret`: identity headers count only with the gateway's shared secret."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
import pytest
from mcp.server.mcpserver import MCPServer

from fleet_core.testing import (
    MCP_HEADERS,
    TEST_SECRET,
    call_body,
    identity,
    identity_headers,
    serve_server,
    settings_for,
)

SETTINGS = settings_for(name="test", gateway_secrets=[TEST_SECRET, "next-secret-during-rotation-42"])
# a day: the module is collected at the start of a session that may run for many minutes before it
ALICE = identity("alice", "test:read test:write", audience=SETTINGS.public_url, expires_in=86_400)


def good_headers(**changes: str | None) -> dict[str, str]:
    headers = MCP_HEADERS | identity_headers(ALICE) | {"X-MCP-Gateway-Secret": TEST_SECRET}
    for name, value in changes.items():
        key = name.replace("_", "-")
        if value is None:
            headers.pop(key)
        else:
            headers[key] = value
    return headers


async def post(server: MCPServer, headers: dict[str, str], body: Any = None) -> httpx2.Response:
    with anyio.fail_after(15):
        async with serve_server(server, SETTINGS) as url, httpx2.AsyncClient() as http:
            return await http.post(url, json=body or call_body("echo", {"text": "hi"}), headers=headers)


def assert_refused(response: httpx2.Response, ran: list[str], audit_lines: list[dict[str, Any]]) -> None:
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "missing or invalid credentials",
    }
    assert response.headers["www-authenticate"] == (
        'Bearer resource_metadata="http://127.0.0.1:8700/.well-known/oauth-protected-resource/mcp/test"'
    )
    assert ran == []
    assert audit_lines[-1]["outcome"] == "denied"
    assert audit_lines[-1]["status"] == 401


async def test_valid_secret_and_headers_reach_the_tool(
    server: MCPServer, ran: list[str], audit_lines: list[dict[str, Any]]
) -> None:
    response = await post(server, good_headers())
    assert response.status_code == 200
    assert response.json()["result"]["content"][0]["text"] == "hi"
    assert ran == ["echo"]
    assert audit_lines[-1] | {"time": "t", "duration_ms": 0, "token_id": "j"} == {
        "time": "t",
        "server": "test",
        "outcome": "ok",
        "subject": "alice",
        "account": "alice",
        "client": "fleet-client",
        "token_id": "j",
        "tool": "echo",
        "args": audit_lines[-1]["args"],
        "duration_ms": 0,
    }
    assert "hi" not in str(audit_lines)  # arguments are digested, never logged


async def test_second_secret_is_accepted_during_rotation(server: MCPServer, ran: list[str]) -> None:
    response = await post(server, good_headers(X_MCP_Gateway_Secret="next-secret-during-rotation-42"))
    assert response.status_code == 200
    assert ran == ["echo"]


async def test_no_headers_at_all_is_refused(
    server: MCPServer, ran: list[str], audit_lines: list[dict[str, Any]]
) -> None:
    assert_refused(await post(server, MCP_HEADERS), ran, audit_lines)


async def test_identity_headers_without_the_gateway_secret_are_refused(
    server: MCPServer, ran: list[str], audit_lines: list[dict[str, Any]]
) -> None:
    assert_refused(await post(server, good_headers(X_MCP_Gateway_Secret=None)), ran, audit_lines)
    assert audit_lines[-1]["reason"] == "gateway secret missing or duplicated"


async def test_wrong_gateway_secret_is_refused(
    server: MCPServer, ran: list[str], audit_lines: list[dict[str, Any]]
) -> None:
    assert_refused(await post(server, good_headers(X_MCP_Gateway_Secret="x" * 30)), ran, audit_lines)
    assert audit_lines[-1]["reason"] == "wrong gateway secret"
    assert "x" * 30 not in str(audit_lines)


async def test_secret_prefix_is_not_enough(
    server: MCPServer, ran: list[str], audit_lines: list[dict[str, Any]]
) -> None:
    assert_refused(await post(server, good_headers(X_MCP_Gateway_Secret=TEST_SECRET[:-1])), ran, audit_lines)


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        ("X_MCP_Subject", None, "missing or malformed subject"),
        ("X_MCP_Subject", "", "missing or malformed subject"),
        ("X_MCP_Subject", "alice bob", "missing or malformed subject"),
        ("X_MCP_Audience", "http://127.0.0.1:8700/mcp/other", "audience is not this server"),
        ("X_MCP_Audience", "http://127.0.0.1:8700/mcp/test/", "audience is not this server"),
        ("X_MCP_Audience", None, "audience is not this server"),
        ("X_MCP_Expires", "tomorrow", "expires is not RFC 3339"),
        ("X_MCP_Expires", "2099-01-01T00:00:00", "expires has no UTC offset"),
        ("X_MCP_Expires", None, "missing expiry"),
        ("X_MCP_Issuer", "https://evil.example", "issuer mismatch"),
        ("X_MCP_Subject", "a" * 5000, "oversized subject header"),
    ],
)
async def test_bad_identity_header_is_refused(
    server: MCPServer,
    ran: list[str],
    audit_lines: list[dict[str, Any]],
    header: str,
    value: str | None,
    reason: str,
) -> None:
    assert_refused(await post(server, good_headers(**{header: value})), ran, audit_lines)
    assert audit_lines[-1]["reason"] == reason


async def test_an_expired_identity_is_refused_the_way_the_gateway_refuses_an_expired_token(
    server: MCPServer, ran: list[str], audit_lines: list[dict[str, Any]]
) -> None:
    # the gateway forwards a token up to its leeway past `exp`; this check is stricter, and then says
    # what the gateway would have said (RFC 6750 invalid_token + scope), so the client refreshes
    response = await post(server, good_headers(X_MCP_Expires="2020-01-01T00:00:00Z"))
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "error_description": "the access token has expired"}
    assert response.headers["www-authenticate"] == (
        'Bearer resource_metadata="http://127.0.0.1:8700/.well-known/oauth-protected-resource/mcp/test", '
        'scope="test:read", error="invalid_token"'
    )
    assert ran == []
    assert audit_lines[-1]["reason"] == "identity expired"


async def raw_request(server: MCPServer, header_block: bytes) -> bytes:
    """Send bytes no well-behaved client library would send (duplicates, control characters)."""
    body = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}'
    with anyio.fail_after(15):
        async with serve_server(server, SETTINGS) as url:
            port = int(url.split(":")[2].split("/")[0])
            request = (
                b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\n"
                b"Content-Type: application/json\r\nMCP-Protocol-Version: 2025-11-25\r\nConnection: close\r\n"
                + header_block
                + b"Content-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            stream = await anyio.connect_tcp("127.0.0.1", port)
            async with stream:
                await stream.send(request)
                reply = b""
                try:
                    while chunk := await stream.receive():
                        reply += chunk
                except anyio.EndOfStream:
                    pass
            return reply


def header_block(**changes: str) -> bytes:
    headers = identity_headers(ALICE) | {"X-MCP-Gateway-Secret": TEST_SECRET} | changes
    return b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in headers.items())


async def test_duplicated_subject_header_is_refused(
    server: MCPServer, ran: list[str], audit_lines: list[dict[str, Any]]
) -> None:
    reply = await raw_request(server, header_block() + b"X-MCP-Subject: admin\r\n")
    assert reply.startswith(b"HTTP/1.1 401")
    assert ran == []
    assert audit_lines[-1]["reason"] == "duplicated subject header"


async def test_duplicated_gateway_secret_is_refused(
    server: MCPServer, ran: list[str], audit_lines: list[dict[str, Any]]
) -> None:
    reply = await raw_request(server, header_block() + b"X-MCP-Gateway-Secret: guess-guess-guess-guess\r\n")
    assert reply.startswith(b"HTTP/1.1 401")
    assert ran == []


@pytest.mark.parametrize("char", ["\x01", "\x1b", "\x7f"])
async def test_control_character_in_identity_header_is_refused(
    server: MCPServer, ran: list[str], audit_lines: list[dict[str, Any]], char: str
) -> None:
    reply = await raw_request(server, header_block(**{"X-MCP-Subject": f"alice{char}admin"}))
    # Either the HTTP parser rejects the header (400) or the identity check does (401); nothing runs.
    status = reply.split(b" ", 2)[1]
    assert status in (b"400", b"401")
    if status == b"401":
        assert audit_lines[-1]["reason"] == "control character in subject"
    assert ran == []


async def test_crlf_cannot_inject_a_second_identity_header(server: MCPServer, ran: list[str]) -> None:
    # A bare CR inside a value: the parser must not turn it into a header boundary.
    reply = await raw_request(server, header_block(**{"X-MCP-Subject": "alice\rX-MCP-Subject: admin"}))
    assert reply.split(b" ", 2)[1] in (b"400", b"401")
    assert ran == []


async def test_oversized_body_is_refused_before_mcp(
    server: MCPServer, ran: list[str], audit_lines: list[dict[str, Any]]
) -> None:
    big = call_body("echo", {"text": "x" * (SETTINGS.max_body_bytes + 1)})
    response = await post(server, good_headers(), big)
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"
    assert ran == []
    assert audit_lines[-1]["outcome"] == "denied"


async def test_oversized_chunked_body_is_refused(server: MCPServer, ran: list[str]) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit must hold while streaming
        for _ in range(40):
            yield b"x" * 65536

    with anyio.fail_after(15):
        async with serve_server(server, SETTINGS) as url, httpx2.AsyncClient() as http:
            response = await http.post(url, content=chunks(), headers=good_headers())
    assert response.status_code == 413
    assert ran == []
