"""Through the real front door (dev authorization server + dev gateway): the tool list a client sees,
and a triage read plus an attributed change as the token's subject."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx2

from fleet_core import build_app
from fleet_frontdoor.testing import front_door
from fleet_sentry.backend import SentryClient
from fleet_sentry.fake import FAKE_TOKEN, FakeSentry
from fleet_sentry.server import build_server
from fleet_sentry.settings import SentrySettings

from .test_sentry_tools import HAPPY


async def test_front_door_lists_every_tool_and_changes_are_signed_by_the_caller(
    tmp_path: Path, fake: FakeSentry
) -> None:
    with anyio.fail_after(60):
        async with front_door(tmp_path, ["sentry"]) as fd:
            values: dict[str, Any] = {
                **fd.server_settings("sentry"),
                "base_url": "http://fake-sentry.test",
                "auth_token": FAKE_TOKEN,
                "org": "acme",
            }
            settings = SentrySettings.model_validate(values)
            async with (
                SentryClient(settings, transport=httpx2.ASGITransport(app=fake)) as client,
                fd.upstream("sentry", build_app(build_server(settings, client), settings)),
            ):
                token = await fd.token("alice", "sentry:read sentry:write")
                async with fd.connect("sentry", token) as mcp:
                    tools = (await mcp.list_tools()).tools
                    tags = await mcp.call_tool("get_issue_tags", {"issue": "BACKEND-1"})
                    priority = await mcp.call_tool(
                        "set_issue_priority", {"issue": "1002", "priority": "high"}
                    )
    assert {t.name for t in tools} == set(HAPPY)
    assert len(tools) >= 30
    assert not tags.is_error
    assert not priority.is_error
    assert fake.notes("1002") == ["Priority set to high by alice via mcp-fleet"]
