"""The authorization-code flow against the stub AS/RS over real loopback HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import pytest

from fleet_client import FleetClient
from fleet_client.errors import explain
from fleet_core.testing import text_of

if TYPE_CHECKING:  # conftest is not importable at run time (--import-mode=importlib)
    from client.tests.conftest import Browser, OtherAS, Stack


async def test_login_then_call_read_tool(stack: Stack, browser: Browser) -> None:
    fleet = FleetClient(stack.config(), opener=browser)
    with anyio.fail_after(20):
        async with fleet.connect("demo") as client:
            result = await client.call_tool("echo", {"text": "hi"})
    assert text_of(result) == "hi"
    authorize = [q for kind, q in stack.auth.log if kind == "authorize"]
    assert len(authorize) == 1
    assert authorize[0]["scope"] == "demo:read"
    assert authorize[0]["resource"] == stack.rs.url
    assert authorize[0]["code_challenge_method"] == "S256"
    assert authorize[0]["client_id"] == "fleet-client"


async def test_step_up_requests_the_union_of_scopes_and_retries_once(stack: Stack, browser: Browser) -> None:
    fleet = FleetClient(stack.config(), opener=browser)
    with anyio.fail_after(20):
        async with fleet.connect("demo") as client:
            assert text_of(await client.call_tool("echo", {"text": "r"})) == "r"
            result = await client.call_tool("write_note", {"text": "w"})
    assert text_of(result) == "wrote w"
    scopes = [q["scope"] for kind, q in stack.auth.log if kind == "authorize"]
    assert scopes == ["demo:read", "demo:read demo:write"]  # SEP-2350 union, one step-up


async def test_step_up_after_a_restart_keeps_the_granted_scopes(stack: Stack, browser: Browser) -> None:
    with anyio.fail_after(30):
        async with FleetClient(stack.config(), opener=browser).connect("demo") as client:
            await client.call_tool("echo", {"text": "r"})
        async with FleetClient(stack.config(), opener=browser).connect("demo") as client:
            await client.call_tool("write_note", {"text": "w"})
    scopes = [q["scope"] for kind, q in stack.auth.log if kind == "authorize"]
    assert scopes == ["demo:read", "demo:read demo:write"]


async def test_stored_token_is_reused_and_refreshed_after_expiry(stack: Stack, browser: Browser) -> None:
    stack.auth.access_ttl = 1
    with anyio.fail_after(30):
        async with FleetClient(stack.config(), opener=browser).connect("demo") as client:
            await client.call_tool("echo", {"text": "first"})
        first_token = stack.rs.seen_tokens[-1]
        stack.auth.tokens[first_token].expires_at = 0  # the RS now refuses it
        storage = FleetClient(stack.config()).storage(stack.config().servers[0])
        storage.bind_issuer(stack.auth.issuer)
        data = storage._load()
        storage._update(expires_at=data["expires_at"] - 3600)  # and the client knows it expired

        async def no_browser(url: str) -> None:
            raise AssertionError("a refresh must not need the browser")

        seen_before = len(stack.rs.seen_tokens)
        async with FleetClient(stack.config(), opener=no_browser).connect("demo") as client:
            result = await client.call_tool("echo", {"text": "second"})
    assert text_of(result) == "second"
    assert stack.auth.count("authorize") == 1
    assert stack.auth.count("token:refresh_token") == 1
    assert first_token not in stack.rs.seen_tokens[seen_before:]  # refreshed before sending


async def test_tokens_from_a_previous_authorization_server_are_never_sent(
    stack: Stack, browser: Browser, other_as: OtherAS
) -> None:
    with anyio.fail_after(30):
        async with FleetClient(stack.config(), opener=browser).connect("demo") as client:
            await client.call_tool("echo", {"text": "as1"})
        old_tokens = set(stack.auth.tokens)
        async with other_as() as second:
            # The resource moves to another AS (SEP-2352): its PRM now names `second`.
            stack.rs.auth = second
            stack.rs.authorization_server = second.issuer
            seen_before = len(stack.rs.seen_tokens)
            async with FleetClient(stack.config(), opener=browser).connect("demo") as client:
                result = await client.call_tool("echo", {"text": "as2"})
    assert text_of(result) == "as2"
    after = stack.rs.seen_tokens[seen_before:]
    assert after, "the second login must have sent a token"
    assert not old_tokens & set(after)
    assert all(t.startswith("as2-") for t in after)
    assert second.count("authorize") == 1


async def test_logout_forgets_the_tokens(stack: Stack, browser: Browser) -> None:
    fleet = FleetClient(stack.config(), opener=browser)
    with anyio.fail_after(30):
        await fleet.login("demo")
        assert fleet.logout("demo") == 1
        await fleet.login("demo")
        assert fleet.logout() == 1
    assert stack.auth.count("authorize") == 2


async def test_dynamic_registration_when_no_client_is_preregistered(stack: Stack, browser: Browser) -> None:
    stack.auth.registration = True
    fleet = FleetClient(stack.config(client_id=None), opener=browser)
    with anyio.fail_after(20):
        async with fleet.connect("demo") as client:
            await client.call_tool("echo", {"text": "dcr"})
    registrations = [q for kind, q in stack.auth.log if kind == "register"]
    assert len(registrations) == 1
    assert registrations[0]["application_type"] == "native"
    authorize = next(q for kind, q in stack.auth.log if kind == "authorize")
    assert authorize["client_id"] == "dcr-client"


async def test_step_up_is_tried_once_then_refused_clearly(stack: Stack, browser: Browser) -> None:
    stack.auth.grant_only = "demo:read"  # the user may not write: the AS never grants it
    fleet = FleetClient(stack.config(), opener=browser)
    with anyio.fail_after(20), pytest.raises(ExceptionGroup) as refused:
        async with fleet.connect("demo") as client:
            await client.call_tool("write_note", {"text": "w"})
    assert "still refused after signing in again" in (explain(refused.value) or "")
    assert stack.auth.count("authorize") == 2  # the login and one step-up: no loop (C13)
