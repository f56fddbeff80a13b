"""What a caller is told when the gateway or the server behind it refuses a token (issue 13, item 9)."""

from __future__ import annotations

import time

import anyio

from fleet_core.testing import call_body

from .test_gateway_matrix import assert_challenge, client, fleet_stack


async def test_a_token_for_another_server_is_told_so() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            other = s.token(f"{s.gateway}/mcp/other", scope="echo:read other:read")
            r = await http.post(s.resource, json=call_body("whoami"), headers=s.auth(other))
            www = f'Bearer resource_metadata="{s.prm}", scope="echo:read", error="invalid_token"'
            assert_challenge(r, 401, www, "invalid_token")
            said = r.json()["error_description"]
            assert "issued for another resource" in said
            assert s.resource in said
            # a forged or garbled token learns nothing more than before
            r = await http.post(s.resource, json=call_body("whoami"), headers=s.auth("x.y.z"))
            assert r.json()["error_description"] == "invalid or expired access token"
            assert s.echo == []


async def test_an_expired_token_the_gateway_forwards_in_its_leeway_gets_the_gateway_s_answer() -> None:
    with anyio.fail_after(30):
        async with fleet_stack() as s, client() as http:
            long_gone = s.token(exp=int(time.time()) - 120, iat=int(time.time()) - 600)
            at_gateway = await http.post(s.resource, json=call_body("whoami"), headers=s.auth(long_gone))
            barely = s.token(exp=int(time.time()) - 5)  # inside the gateway's 30 s leeway: forwarded
            at_server = await http.post(s.resource, json=call_body("whoami"), headers=s.auth(barely))
            assert len(s.echo) == 1  # the server saw it, and refused it itself
    www = f'Bearer resource_metadata="{s.prm}", scope="echo:read", error="invalid_token"'
    assert_challenge(at_gateway, 401, www, "invalid_token")
    assert_challenge(at_server, 401, www, "invalid_token")
    assert at_gateway.json()["error_description"] == "the access token has expired"
    assert at_server.json()["error_description"] == "the access token has expired"
