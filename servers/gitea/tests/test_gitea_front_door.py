"""Through the real front door (dev authorization server + dev gateway): step-up for writes, Sudo as the
token's subject, and the caller's access token never reaching Gitea."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx2

from fleet_core import build_app
from fleet_core.testing import MCP_HEADERS, call_body
from fleet_frontdoor.testing import front_door
from fleet_gitea.backend import GiteaClient
from fleet_gitea.fake import FakeGitea
from fleet_gitea.server import build_server
from fleet_gitea.settings import GiteaSettings
from fleet_gitea.testing import TOKEN, VALID, Harness


async def test_front_door_step_up_then_write_as_the_caller(
    tmp_path: Path, shared: Harness, fake: FakeGitea
) -> None:
    with anyio.fail_after(60):
        async with front_door(tmp_path, ["gitea"]) as fd:
            settings = GiteaSettings.model_validate({**fd.server_settings("gitea"), "url": shared.gitea_url,
                                                     "token": TOKEN})  # fmt: skip
            client = GiteaClient(settings.url, TOKEN)
            async with fd.upstream("gitea", build_app(build_server(settings, client), settings)):
                read = await fd.token("alice", "gitea:read")
                write = await fd.token("alice", "gitea:read gitea:write")
                async with httpx2.AsyncClient(timeout=10) as http:
                    refused = await http.post(
                        fd.resource("gitea"),
                        json=call_body("create_issue", VALID["create_issue"]),
                        headers=MCP_HEADERS | {"Authorization": f"Bearer {read}"},
                    )
                assert fake.requests == []  # nothing reached Gitea
                async with fd.connect("gitea", write) as mcp:
                    listed = (await mcp.list_tools()).tools
                    created = await mcp.call_tool("create_issue", VALID["create_issue"])
            await client.aclose()
    assert {t.name for t in listed} == set(VALID)  # every tool, listed through the front door
    assert len(listed) >= 58
    assert refused.status_code == 403
    assert refused.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
    assert 'scope="gitea:read gitea:write"' in refused.headers["www-authenticate"]
    assert not created.is_error
    assert created.structured_content["author"] == "alice"
    assert fake.requests
    assert {r.sudo for r in fake.requests} == {"alice"}
    # Gitea only ever sees the service token: the caller's access token is not forwarded.
    assert {r.authorization for r in fake.requests} == {f"token {TOKEN}"}
    assert all(write not in str(r) for r in fake.requests)
