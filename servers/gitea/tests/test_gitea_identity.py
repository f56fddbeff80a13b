"""Acting as the caller: scope gate for writes, Sudo on every request, user mapping, read-only mode."""

from __future__ import annotations

import json

import anyio
import httpx2
import pydantic
import pytest

from fleet_core.testing import MCP_HEADERS, TEST_SECRET, call_body, connect, identity, identity_headers
from fleet_gitea.fake import FakeGitea
from fleet_gitea.testing import VALID, WRITE_TOOLS, Harness, gitea_settings, mcp_in_front


async def post_call(h: Harness, tool: str, scopes: str) -> httpx2.Response:
    who = identity("bob", scopes, audience=h.settings.public_url)
    headers = MCP_HEADERS | identity_headers(who) | {"X-MCP-Gateway-Secret": TEST_SECRET}
    with anyio.fail_after(10):
        async with httpx2.AsyncClient() as http:
            return await http.post(h.url, json=call_body(tool, VALID[tool]), headers=headers)


@pytest.mark.parametrize("tool", sorted(WRITE_TOOLS))
async def test_read_scope_caller_gets_step_up_challenge_for_writes(h: Harness, tool: str) -> None:
    mark = len(h.fake.requests)
    response = await post_call(h, tool, "gitea:read")
    assert response.status_code == 403
    www = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in www
    assert 'scope="gitea:read gitea:write"' in www or 'scope="gitea:write"' in www
    assert "resource_metadata=" in www
    assert h.since(mark) == []  # refused before anything reached Gitea


async def test_write_scope_caller_write_carries_sudo_caller(h: Harness) -> None:
    mark = len(h.fake.requests)
    result = await h.ok("create_issue", VALID["create_issue"], subject="carol")
    assert result["author"] == "carol"
    sent = h.since(mark)
    assert [(r.method, r.sudo) for r in sent] == [("GET", "carol"), ("POST", "carol")]
    assert sent[-1].body == {"title": "New bug", "body": "details", "labels": [1]}


async def test_read_scope_caller_can_read(h: Harness) -> None:
    response = await post_call(h, "get_issue", "gitea:read")
    assert response.status_code == 200
    assert "Crash on start" in response.text


async def test_every_tool_declares_scope_and_honest_annotations(h: Harness) -> None:
    async with connect(h.url, identity=identity("alice", "gitea:read", audience=h.settings.public_url)) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
    assert len(tools) >= 25
    for name, tool in tools.items():
        scope = (tool.meta or {}).get("fleet/scope")
        assert scope == ("gitea:write" if name in WRITE_TOOLS else "gitea:read"), name
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is (name not in WRITE_TOOLS), name
        assert tool.output_schema is not None, name
    hints = {name: tool.annotations for name, tool in tools.items() if tool.annotations is not None}
    assert hints["merge_pull_request"].destructive_hint is True
    assert hints["create_or_update_file"].destructive_hint is True
    assert hints["create_issue"].destructive_hint is False
    assert hints["close_issue"].idempotent_hint is True


async def test_read_only_mode_does_not_register_write_tools(shared: Harness, fake: FakeGitea) -> None:
    async with mcp_in_front(fake, shared.gitea_url, read_only=True) as running:
        who = identity("alice", "gitea:read gitea:write", audience=running.settings.public_url)
        async with connect(running.url, identity=who) as c:
            names = {t.name for t in (await c.list_tools()).tools}
            result = await c.call_tool("create_issue", VALID["create_issue"])
    assert names.isdisjoint(WRITE_TOOLS)
    assert "get_issue" in names
    assert result.is_error
    assert fake.repos["alice/demo"].issues.keys() == {1, 2, 3}


async def test_mapped_subject_acts_as_its_gitea_account(shared: Harness, fake: FakeGitea) -> None:
    mapping = {"user-7f3a": "carol"}
    async with mcp_in_front(fake, shared.gitea_url, account_source="user_map", user_map=mapping) as running:
        result = await running.ok("get_me", subject="user-7f3a")
        text = await running.error("get_me", subject="alice")
    assert result["login"] == "carol"
    assert {r.sudo for r in fake.requests} == {"carol"}
    assert "'alice' has no Gitea account name" in text


async def test_user_map_file_is_loaded(tmp_path: object, fake: FakeGitea) -> None:
    import pathlib

    path = pathlib.Path(str(tmp_path)) / "users.json"
    path.write_text(json.dumps({"sub-1": "bob"}))
    settings = gitea_settings("http://127.0.0.1:1", account_source="user_map", user_map=f"@{path}")
    assert settings.account_for("sub-1") == "bob"
    assert settings.account_for("sub-2") is None


async def test_client_credentials_subject_is_not_a_gitea_user(h: Harness) -> None:
    mark = len(h.fake.requests)
    text = await h.error("get_me", subject="client:ci-bot")
    assert "not a usable Gitea username" in text
    assert h.since(mark) == []  # never falls back to the service account


async def test_no_request_ever_goes_out_without_sudo(h: Harness) -> None:
    for tool in ("get_me", "list_my_repos", "get_pull_request", "get_job_log_tail"):
        await h.ok(tool, VALID[tool], subject="bob")
    assert h.fake.requests
    assert all(r.sudo == "bob" for r in h.fake.requests)


async def test_a_sudo_header_from_the_client_is_not_forwarded(h: Harness) -> None:
    # bob tries to smuggle `Sudo: alice` through the MCP request: the server builds its own headers.
    who = identity("bob", "gitea:read", audience=h.settings.public_url)
    async with connect(h.url, identity=who, headers={"Sudo": "alice"}) as client:
        result = await client.call_tool("get_me", {})
    assert result.structured_content["login"] == "bob"
    assert {r.sudo for r in h.fake.requests} == {"bob"}


async def test_a_mapped_name_cannot_inject_headers(shared: Harness, fake: FakeGitea) -> None:
    for bad in ({"sub-x": "alice\r\nX-Evil: 1"}, {"sub-y": "fleet-bot\n"}):
        with pytest.raises(pydantic.ValidationError, match="control character"):
            gitea_settings(shared.gitea_url, user_map=bad)  # refused at startup
    mapping = {"sub-x": "alice X-Evil: 1", "sub-y": "fleet-bot/../admin", "sub-z": " alice"}
    async with mcp_in_front(fake, shared.gitea_url, account_source="user_map", user_map=mapping) as running:
        for subject in mapping:
            assert "not a usable Gitea username" in await running.error("get_me", subject=subject)
    assert fake.requests == []
