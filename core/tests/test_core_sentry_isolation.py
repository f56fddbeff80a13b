"""Each request's Sentry tags and user stay in that request: an event raised after alice's call (by the
next request, or by anything else in the process) must not carry alice or her tool."""

from __future__ import annotations

import pytest
import sentry_sdk
from mcp.client import Client

from fleet_core import create_server, requires
from fleet_core._sentry import init_sentry
from fleet_core.testing import acting_as, connect, identity, serve_server, settings_for, text_of
from fleet_core.testing.sentry import sentry_capture


@pytest.mark.parametrize("era", ["legacy", "auto"])  # 2025-11-25's handshake, 2026-07-28's requests
async def test_a_callers_user_and_tool_do_not_reach_the_next_event(era: str) -> None:
    async with sentry_capture() as capture:
        settings = capture.with_dsn(settings_for(name="iso"))
        mcp = create_server("iso")

        @mcp.tool(meta=requires("iso:read"))
        async def note() -> str:
            return "ok"

        async with serve_server(mcp, settings) as url:
            alice = identity("0b6f1c1e-alice", "iso:read", audience=settings.public_url, account="alice")
            async with connect(url, identity=alice, mode=era) as client:
                assert text_of(await client.call_tool("note", {})) == "ok"
            # the process's own scope after the request: what an event outside any call would carry
            sentry_sdk.capture_message("after alice's call")
            [event] = await capture.wait_for_events()
    assert event["message"] == "after alice's call"
    assert "user" not in event or not event["user"], event.get("user")
    tags = event.get("tags", {})
    assert "fleet.tool" not in tags, tags


@pytest.mark.parametrize("era", ["legacy", "auto"])
async def test_an_in_process_callers_user_does_not_reach_the_next_event(era: str) -> None:
    """In memory (no HTTP, no gate: the stdio shape), the audit middleware alone keeps the call's scope."""
    async with sentry_capture() as capture:
        mcp = create_server("iso")
        init_sentry(capture.dsn, mcp=mcp)

        @mcp.tool(meta=requires("iso:read"))
        async def note() -> str:
            return "ok"

        alice = identity("0b6f1c1e-alice", "iso:read", audience="http://127.0.0.1:8700/mcp/iso")
        with acting_as(alice):
            async with Client(mcp, mode=era) as client:
                assert text_of(await client.call_tool("note", {})) == "ok"
        sentry_sdk.capture_message("after alice's call")
        [event] = await capture.wait_for_events()
    assert "user" not in event or not event["user"], event.get("user")
    assert "fleet.tool" not in event.get("tags", {}), event.get("tags")
