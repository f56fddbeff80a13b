"""The fleet's own error reporting, end to end: SENTRY_DSN → a local envelope capture endpoint
(fleet_core.testing.sentry_capture)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import pytest

from fleet_core import build_app
from fleet_core.testing import TEST_SECRET, connect, identity, running_app, sentry_capture
from fleet_sentry.backend import SentryClient
from fleet_sentry.fake import FAKE_TOKEN, FakeSentry
from fleet_sentry.server import build_server
from fleet_sentry.settings import SentrySettings

AUDIENCE = "http://127.0.0.1:8700/mcp/sentry"
PRIVATE = "private-words-8641"  # an argument value that must never leave the process


async def test_a_failing_tool_reports_server_tool_and_caller_but_no_secrets(
    fake: FakeSentry,
    make_settings: Callable[..., SentrySettings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice = identity("alice", "sentry:read sentry:write", audience=AUDIENCE)
    with anyio.fail_after(20):
        async with sentry_capture() as sentry:
            settings = sentry.with_dsn(make_settings())
            async with SentryClient(settings, transport=httpx2.ASGITransport(app=fake)) as client:

                async def broken(*args: Any, **kwargs: Any) -> Any:
                    raise RuntimeError("unexpected failure inside the tool")

                monkeypatch.setattr(client, "update_issue", broken)
                app = build_app(build_server(settings, client), settings)
                async with running_app(app) as base, connect(base + settings.path, identity=alice) as session:
                    result = await session.call_tool(
                        "resolve_issue", {"issue": "BACKEND-1", "comment": PRIVATE}
                    )
                events = [e for e in await sentry.wait_for_events() if e.get("exception")]
    assert result.is_error
    assert events
    for event in events:  # however the SDK caught it (logging or MCP integration), it is labelled
        assert event["tags"]["fleet.server"] == "sentry"
        assert event["tags"]["fleet.tool"] == "resolve_issue"
        assert event["user"] == {"id": "alice", "username": "alice"}  # subject and account name
    everything = sentry.everything()
    assert FAKE_TOKEN not in everything
    assert TEST_SECRET not in everything
    assert PRIVATE not in everything  # no raw tool arguments: not in frame locals, spans or breadcrumbs
