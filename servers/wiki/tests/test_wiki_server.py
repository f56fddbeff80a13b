"""The wiki server over real HTTP through fleet_core's app (trust gate, scope gate), against the real wiki."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx2
import pytest
import pytest_asyncio

from fleet_core import build_app
from fleet_core.testing import (
    MCP_HEADERS,
    TEST_SECRET,
    call_body,
    connect,
    identity,
    identity_headers,
    in_own_task,
    running_app,
    text_of,
)
from fleet_core.testing import settings_for as core_settings_for
from fleet_wiki.backend import MediaWikiClient
from fleet_wiki.embedded import EmbeddedWiki
from fleet_wiki.server import build_server
from fleet_wiki.settings import WikiSettings

# The module's tests share one event loop, the one the module-scoped `served` server runs on.
pytestmark = pytest.mark.asyncio(loop_scope="module")

AUDIENCE = "http://127.0.0.1:8700/mcp/wiki"
READ_TOOLS = {
    "search_pages", "get_page", "list_sections", "get_page_history", "get_revision", "compare_revisions",
    "recent_changes", "category_members", "what_links_here", "site_info", "render_wikitext", "whoami",
}  # fmt: skip
WRITE_TOOLS = {"create_page", "edit_page", "append_to_page", "move_page"}


def settings_for(url: str, username: str = "Bot@x", password: str = "p", **overrides: Any) -> WikiSettings:  # noqa: S107
    values: dict[str, Any] = {
        "url": url,
        "bot_username": username,
        "bot_password": password,
        "max_output_bytes": 20_000,
    }
    return core_settings_for(WikiSettings, name="wiki", **values | overrides)


@contextlib.asynccontextmanager
async def serve(settings: WikiSettings) -> AsyncIterator[tuple[str, MediaWikiClient]]:
    backend = MediaWikiClient(
        settings.url,
        settings.bot_username,
        settings.bot_password.get_secret_value(),
        timeout=settings.timeout_seconds,
    )
    async with backend, running_app(build_app(build_server(settings, backend), settings)) as base:
        yield base + settings.path, backend


def wiki_settings(wiki: EmbeddedWiki, **overrides: Any) -> WikiSettings:
    return settings_for(wiki.url, wiki.bot_username, wiki.bot_password, **overrides)


def writer() -> Any:
    return identity("alice", "wiki:read wiki:write", audience=AUDIENCE)


def reader() -> Any:
    return identity("bob", "wiki:read", audience=AUDIENCE)


async def test_tools_declare_scopes_and_honest_annotations(wiki: EmbeddedWiki) -> None:
    async with serve(wiki_settings(wiki)) as (url, _), connect(url, identity=writer()) as mcp:
        with anyio.fail_after(20):
            tools = {t.name: t for t in (await mcp.list_tools()).tools}
    assert set(tools) == READ_TOOLS | WRITE_TOOLS
    for name, tool in tools.items():
        scope = (tool.meta or {}).get("fleet/scope")
        assert scope == ("wiki:write" if name in WRITE_TOOLS else "wiki:read")
        hints = tool.annotations
        assert hints is not None
        assert hints.read_only_hint is (name not in WRITE_TOOLS)
        assert hints.open_world_hint is False
    move_hints, append_hints = tools["move_page"].annotations, tools["append_to_page"].annotations
    assert move_hints is not None
    assert move_hints.destructive_hint is True
    assert append_hints is not None
    assert append_hints.destructive_hint is False


async def test_read_only_mode_registers_no_write_tools(wiki: EmbeddedWiki) -> None:
    async with serve(wiki_settings(wiki, read_only=True)) as (url, _), connect(url, identity=writer()) as mcp:
        with anyio.fail_after(20):
            names = {t.name for t in (await mcp.list_tools()).tools}
            info = await mcp.call_tool("site_info", {})
    assert names == READ_TOOLS
    assert info.structured_content is not None
    assert info.structured_content["read_only"] is True


async def test_read_scope_caller_editing_gets_403_step_up(wiki: EmbeddedWiki) -> None:
    settings = wiki_settings(wiki)
    async with serve(settings) as (url, _):
        headers = MCP_HEADERS | identity_headers(reader()) | {"X-MCP-Gateway-Secret": TEST_SECRET}
        body = call_body("edit_page", {"title": "Onboarding", "text": "x", "base_revision_id": 1})
        async with httpx2.AsyncClient(timeout=10) as http:
            with anyio.fail_after(20):
                response = await http.post(url, json=body, headers=headers)
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert "wiki:write" in challenge
    assert settings.resource_metadata_url in challenge


async def test_write_scope_caller_shows_in_the_page_history(wiki: EmbeddedWiki) -> None:
    title = f"Via MCP {uuid.uuid4().hex[:8]}"
    async with serve(wiki_settings(wiki)) as (url, _), connect(url, identity=writer()) as mcp:
        with anyio.fail_after(30):
            created = await mcp.call_tool("create_page", {"title": title, "text": "v1", "summary": "start"})
            assert not created.is_error, created.content
            rev = created.structured_content["revision_id"]
            edit = {"title": title, "text": "v2", "base_revision_id": rev, "summary": "update"}
            edited = await mcp.call_tool("edit_page", edit)
            assert not edited.is_error, edited.content
            history = await mcp.call_tool("get_page_history", {"title": title})
    comments = [r["comment"] for r in history.structured_content["revisions"]]
    assert comments == ["update (for alice via fleet-wiki)", "start (for alice via fleet-wiki)"]


async def test_an_authgate_token_credits_the_username_not_the_uuid(wiki: EmbeddedWiki) -> None:
    """jwt trust mode, AuthGate-shaped token (sub = UUID, extra_uid = alice): the edit summary names alice;
    a token without the username claim may read but not edit."""
    from fleet_core import TrustMode, dev_subject
    from fleet_core.testing import JwtIssuer

    title = f"Via AuthGate {uuid.uuid4().hex[:8]}"
    async with JwtIssuer() as issuer:
        settings = wiki_settings(wiki, trust_mode=TrustMode.JWT, issuer=issuer.url)
        good = issuer.mint(AUDIENCE, scope="wiki:read wiki:write")
        bare = issuer.mint(AUDIENCE, scope="wiki:read wiki:write", extra_uid=None)
        async with serve(settings) as (url, _):
            with anyio.fail_after(30):
                async with connect(url, token=good, secret=None) as mcp:
                    created = await mcp.call_tool(
                        "create_page", {"title": title, "text": "v1", "summary": "s"}
                    )
                    history = await mcp.call_tool("get_page_history", {"title": title})
                async with connect(url, token=bare, secret=None) as mcp:
                    refused = await mcp.call_tool("append_to_page", {"title": title, "text": "x"})
                    read = await mcp.call_tool("get_page", {"title": title})
    assert not created.is_error, created.content
    comments = [r["comment"] for r in history.structured_content["revisions"]]
    assert comments == ["s (for alice via fleet-wiki)"]
    assert dev_subject("alice") not in str(history.structured_content)
    assert refused.is_error
    assert "has no wiki account name" in refused.content[0].model_dump()["text"]
    assert not read.is_error


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# One valid call per tool; `p` is a fresh page {"title", "rev"} where a tool needs one.
CALLS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "search_pages": lambda p: {"query": "deploy"},
    "get_page": lambda p: {"title": p["title"]},
    "list_sections": lambda p: {"title": p["title"]},
    "get_page_history": lambda p: {"title": p["title"]},
    "get_revision": lambda p: {"revision_id": p["rev"]},
    "compare_revisions": lambda p: {"from_revision_id": p["rev"], "to_revision_id": p["rev"]},
    "recent_changes": lambda p: {"limit": 3},
    "category_members": lambda p: {"category": "Guides"},
    "what_links_here": lambda p: {"title": "Deploy guide"},
    "site_info": lambda p: {},
    "render_wikitext": lambda p: {"wikitext": "''hi''"},
    "create_page": lambda p: {"title": p["title"] + " new", "text": "new"},
    "edit_page": lambda p: {"title": p["title"], "text": "edited", "base_revision_id": p["rev"]},
    "append_to_page": lambda p: {"title": p["title"], "text": "\nmore"},
    "move_page": lambda p: {"from_title": p["title"], "to_title": p["title"] + " moved"},
}


async def _fresh_page(wiki: EmbeddedWiki) -> dict[str, Any]:
    title = f"Tool page {uuid.uuid4().hex[:8]}"
    async with wiki.admin_client() as admin:
        body = await admin.post(action="edit", title=title, text="Lead.\n\n== S ==\ntext", createonly=True)
    return {"title": title, "rev": body["edit"]["newrevid"]}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(wiki: EmbeddedWiki) -> AsyncIterator[tuple[str, MediaWikiClient]]:
    """One server for the module's per-tool tests (each test checks its own login count delta)."""
    async with in_own_task(serve(wiki_settings(wiki))) as served:
        yield served


@pytest.mark.parametrize("tool", sorted(CALLS))
async def test_each_tool_works_after_the_wiki_session_expired(
    wiki: EmbeddedWiki, served: tuple[str, MediaWikiClient], tool: str
) -> None:
    url, backend = served
    page = await _fresh_page(wiki)
    async with connect(url, identity=writer()) as mcp:
        with anyio.fail_after(30):
            warmup = await mcp.call_tool("site_info", {})
            assert not warmup.is_error
            logins = backend.logins
            with sqlite3.connect(wiki.session_db) as db:
                db.execute("DELETE FROM objectcache WHERE keyname LIKE '%MWSession%'")
            result = await mcp.call_tool(tool, CALLS[tool](page))
    assert not result.is_error, result.content
    # rest.php serves a public wiki's history to anyone, so only Action API calls notice the lost session.
    assert backend.logins == logins + (0 if tool == "get_page_history" else 1)


@pytest.mark.parametrize("tool", sorted(CALLS))
async def test_each_tool_reports_an_unreachable_wiki_within_the_timeout(tool: str) -> None:
    settings = settings_for(f"http://127.0.0.1:{_closed_port()}", timeout_seconds=2)
    page = {"title": "Anything", "rev": 1}
    async with serve(settings) as (url, _), connect(url, identity=writer()) as mcp:
        with anyio.fail_after(10):
            result = await mcp.call_tool(tool, CALLS[tool](page))
    assert result.is_error
    assert "unreachable" in text_of(result)


MISSING: dict[str, dict[str, Any]] = {
    "get_page": {"title": "No such page"},
    "list_sections": {"title": "No such page"},
    "get_page_history": {"title": "No such page"},
    "get_revision": {"revision_id": 9_999_999},
    "compare_revisions": {"from_revision_id": 1, "to_revision_id": 9_999_999},
    "edit_page": {"title": "No such page", "text": "x", "base_revision_id": 9_999_999},
    "append_to_page": {"title": "No such page", "text": "x"},
    "move_page": {"from_title": "No such page", "to_title": "Somewhere"},
}

BAD_TITLE: dict[str, dict[str, Any]] = {
    "get_page": {"title": "Bad [title]"},
    "list_sections": {"title": "Bad [title]"},
    "get_page_history": {"title": "Bad|title"},
    "category_members": {"category": "Bad [title]"},
    "what_links_here": {"title": "Bad [title]"},
    "render_wikitext": {"wikitext": "x", "title": "Bad|title"},
    "create_page": {"title": "Bad [title]", "text": "x"},
    "edit_page": {"title": "Bad [title]", "text": "x", "base_revision_id": 1},
    "append_to_page": {"title": "Bad [title]", "text": "x"},
    "move_page": {"from_title": "Onboarding", "to_title": "Bad [title]"},
}

PROTECTED: dict[str, dict[str, Any]] = {
    "append_to_page": {"title": "Protected page", "text": "x"},
    "move_page": {"from_title": "Protected page", "to_title": "Unprotected"},
}


@pytest.mark.parametrize(
    ("tool", "args", "expected"),
    [(t, a, "does not exist") for t, a in MISSING.items()]
    + [(t, a, "title") for t, a in BAD_TITLE.items()]
    + [(t, a, "protected") for t, a in PROTECTED.items()],
)
async def test_each_tool_refuses_clearly(
    served: tuple[str, MediaWikiClient], tool: str, args: dict[str, Any], expected: str
) -> None:
    async with connect(served[0], identity=writer()) as mcp:
        with anyio.fail_after(20):
            result = await mcp.call_tool(tool, args)
    assert result.is_error
    text = text_of(result).lower()
    assert expected in text or (expected == "protected" and "right" in text)
    assert "traceback" not in text
