"""The fleet's own error reporting, end to end: SENTRY_DSN → a local envelope capture endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx2
import pytest
import sentry_sdk

from fleet_core import build_app
from fleet_core.testing import TEST_SECRET, SentryCapture, connect, identity, running_app
from fleet_sentry.backend import SentryClient
from fleet_sentry.fake import FAKE_TOKEN, FakeSentry
from fleet_sentry.server import build_server
from fleet_sentry.settings import SentrySettings

AUDIENCE = "http://127.0.0.1:8700/mcp/sentry"
PRIVATE = "private-words-8641"  # an argument value that must never leave the process


@pytest.fixture
def sentry_reset() -> Iterator[None]:
    yield
    sentry_sdk.get_client().close(timeout=2)
    sentry_sdk.init()  # back to a disabled client for the rest of the test run


async def test_a_failing_tool_reports_server_tool_and_caller_but_no_secrets(
    sentry_reset: None,
    fake: FakeSentry,
    make_settings: Callable[..., SentrySettings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    capture = SentryCapture()
    alice = identity("alice", "sentry:read sentry:write", audience=AUDIENCE)
    with anyio.fail_after(20):
        async with running_app(capture) as ingest:
            port = ingest.rsplit(":", 1)[1]
            settings = make_settings(sentry_dsn=f"http://publickey@127.0.0.1:{port}/42")
            async with SentryClient(settings, transport=httpx2.ASGITransport(app=fake)) as client:

                async def broken(*args: Any, **kwargs: Any) -> Any:
                    raise RuntimeError("unexpected failure inside the tool")

                monkeypatch.setattr(client, "update_issue", broken)
                app = build_app(build_server(settings, client), settings)
                async with running_app(app) as base, connect(base + settings.path, identity=alice) as session:
                    result = await session.call_tool(
                        "resolve_issue", {"issue": "BACKEND-1", "comment": PRIVATE}
                    )
                while not capture.items:  # the SDK sends from its own thread
                    sentry_sdk.flush(timeout=1)
                    await anyio.sleep(0.01)
                sentry_sdk.get_client().close(timeout=2)  # before the ingest endpoint goes away
    assert result.is_error
    events = [e for e in capture.items if e.get("exception")]
    assert events
    for event in events:  # however the SDK caught it (logging or MCP integration), it is labelled
        assert event["tags"]["fleet.server"] == "sentry"
        assert event["tags"]["fleet.tool"] == "resolve_issue"
        assert event["user"] == {"id": "alice", "username": "alice"}  # subject and account name
    everything = b"".join(capture.raw).decode()
    assert FAKE_TOKEN not in everything
    assert TEST_SECRET not in everything
    assert PRIVATE not in everything  # no raw tool arguments: not in frame locals, spans or breadcrumbs
