"""The HTTP mechanics the front door and the servers share (fleet_core.http)."""

from __future__ import annotations

import contextlib

import anyio
import httpx2
from starlette.types import Receive, Scope, Send

from fleet_core.http import (
    MAX_REQUEST_HEAD_BYTES,
    bearer_challenge,
    bearer_token,
    prm_url,
    send_error,
    token_in_query,
)
from fleet_core.testing import running_app


def test_bearer_scheme_is_case_insensitive_and_needs_a_token() -> None:
    # RFC 7235 §2.1: auth-scheme is case-insensitive (finding 12.10 keeps `bearer x` working)
    for value in (b"Bearer abc", b"bearer abc", b"BEARER abc", b"Bearer  abc "):
        assert bearer_token(value) == "abc"
    for value in (b"Bearer", b"Bearer ", b"Basic abc", b"Bearer\tabc", b"Token abc", b""):
        assert bearer_token(value) is None


def test_token_in_query_whatever_the_case_or_encoding() -> None:
    for query in (b"access_token=x", b"a=1&Token=x", b"access%5Ftoken=x", b"JWT", b"bearer=&q=1"):
        assert token_in_query(query)
    for query in (b"", b"q=token", b"tokens=1"):
        assert not token_in_query(query)


def test_prm_url_is_path_inserted_rfc9728() -> None:
    assert (
        prm_url("https://gw.example/mcp/db")
        == "https://gw.example/.well-known/oauth-protected-resource/mcp/db"
    )
    assert prm_url("http://127.0.0.1:8700/mcp/x") == (
        "http://127.0.0.1:8700/.well-known/oauth-protected-resource/mcp/x"
    )
    assert bearer_challenge(("a", "1"), ("b", "2")) == b'Bearer a="1", b="2"'


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await send_error(send, 418, "teapot", "short and stout")


async def test_an_oversized_request_head_is_431_on_every_server() -> None:
    with anyio.fail_after(20):
        async with running_app(_app) as base:
            host, port = base.removeprefix("http://").split(":")
            head = f"GET / HTTP/1.1\r\nHost: {host}\r\nX-Big: ".encode() + b"a" * (4 << 20) + b"\r\n\r\n"
            data = b""
            async with await anyio.connect_tcp(host, int(port)) as stream:
                with contextlib.suppress(anyio.BrokenResourceError):
                    await stream.send(head)
                with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError, ConnectionResetError):
                    while True:
                        data += await stream.receive()
            assert data.startswith(b"HTTP/1.1 431 ")
            async with httpx2.AsyncClient() as http:
                r = await http.get(base, headers={"X-Fine": "a" * (MAX_REQUEST_HEAD_BYTES // 2)})
                assert r.status_code == 418
                assert r.json() == {"error": "teapot", "error_description": "short and stout"}
                assert r.headers["cache-control"] == "no-store"
