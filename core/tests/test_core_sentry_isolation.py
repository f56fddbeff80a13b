"""Each request's Sentry tags and user stay in that request: an event raised after alice's call (by the
next request, or by anything else in the process) must not carry alice or her tool."""

from __future__ import annotations

import sentry_sdk

from fleet_core import create_server, requires
from fleet_core.testing import connect, identity, serve_server, settings_for, text_of
from fleet_core.testing.sentry import sentry_capture


async def test_a_callers_user_and_tool_do_not_reach_the_next_event() -> None:
    async with sentry_capture() as capture:
        settings = capture.with_dsn(settings_for(name="iso"))
        mcp = create_server("iso")

        @mcp.tool(meta=requires("iso:read"))
        async def note() -> str:
            return "ok"

        async with serve_server(mcp, settings) as url:
            alice = identity("0b6f1c1e-alice", "iso:read", audience=settings.public_url, account="alice")
            async with connect(url, identity=alice) as client:
                assert text_of(await client.call_tool("note", {})) == "ok"
            # the process's own scope after the request: what an event outside any call would carry
            sentry_sdk.capture_message("after alice's call")
            [event] = await capture.wait_for_events()
    assert event["message"] == "after alice's call"
    assert "user" not in event or not event["user"], event.get("user")
    tags = event.get("tags", {})
    assert "fleet.tool" not in tags, tags
