"""Through build_app over real loopback HTTP: the scope gate, attributed writes, a slow/down Sentry."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest

from fleet_core import build_app
from fleet_core.testing import (
    MCP_HEADERS,
    TEST_SECRET,
    call_body,
    connect,
    identity,
    identity_headers,
    running_app,
    serve_server,
    text_of,
)
from fleet_sentry.backend import SentryClient
from fleet_sentry.fake import FakeSentry, serve_fake
from fleet_sentry.server import build_server

AUDIENCE = "http://127.0.0.1:8700/mcp/sentry"
PRM = "http://127.0.0.1:8700/.well-known/oauth-protected-resource/mcp/sentry"


async def test_read_caller_writing_gets_403_step_up_and_nothing_changes(
    fake: FakeSentry, make_settings: Any, audit_lines: list[dict[str, Any]]
) -> None:
    settings = make_settings()
    bob = identity("bob", "sentry:read", audience=AUDIENCE)
    headers = MCP_HEADERS | identity_headers(bob) | {"X-MCP-Gateway-Secret": TEST_SECRET}
    with anyio.fail_after(15):
        async with (
            SentryClient(settings, transport=httpx2.ASGITransport(app=fake)) as client,
            serve_server(build_server(settings, client), settings) as url,
            httpx2.AsyncClient() as http,
        ):
            response = await http.post(
                url, json=call_body("resolve_issue", {"issue": "BACKEND-1"}), headers=headers
            )
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        f'Bearer error="insufficient_scope", scope="sentry:read sentry:write", resource_metadata="{PRM}"'
    )
    assert fake.calls == []
    assert fake.issues["1001"]["status"] == "unresolved"
    assert audit_lines[-1]["outcome"] == "denied"


async def test_write_caller_resolve_lands_with_the_attribution_note(
    fake: FakeSentry, make_settings: Any, audit_lines: list[dict[str, Any]]
) -> None:
    settings = make_settings()
    alice = identity("alice", "sentry:read sentry:write", audience=AUDIENCE)
    with anyio.fail_after(15):
        async with (
            serve_fake(fake) as sentry_url,
            SentryClient(settings.model_copy(update={"base_url": sentry_url})) as client,
            serve_server(build_server(settings, client), settings) as url,
            connect(url, identity=alice) as session,
        ):
            result = await session.call_tool(
                "resolve_issue", {"issue": "BACKEND-1", "comment": "fixed in #42"}
            )
    assert not result.is_error
    assert result.structured_content["issue"]["status"] == "resolved"
    assert fake.issues["1001"]["status"] == "resolved"
    assert fake.notes("1001") == ["Resolved by alice via mcp-fleet\n\nfixed in #42"]
    put = next(c for c in fake.calls if c.method == "PUT")
    assert put.body == {"status": "resolved"}
    assert "alice" not in str(put.body)  # the org token can't impersonate: attribution is the note
    assert audit_lines[-1]["outcome"] == "ok"
    assert audit_lines[-1]["tool"] == "resolve_issue"


async def test_slow_sentry_times_out_as_a_backend_error(fake: FakeSentry, make_settings: Any) -> None:
    settings = make_settings(timeout_seconds=0.3, max_retries=1)
    alice = identity("alice", "sentry:read", audience=AUDIENCE)
    fake.stall("/issues/")
    with anyio.fail_after(15):
        async with (
            serve_fake(fake) as sentry_url,
            SentryClient(settings.model_copy(update={"base_url": sentry_url})) as client,
            serve_server(build_server(settings, client), settings) as url,
            connect(url, identity=alice) as session,
        ):
            result = await session.call_tool("search_issues", {})
            fake.release()
    assert result.is_error
    assert "did not answer within 0.3s" in text_of(result)
    assert len(fake.calls) == 2  # one retry for a read


async def test_unreachable_sentry_is_a_backend_error_and_readyz_says_so(
    make_settings: Any, audit_lines: list[dict[str, Any]]
) -> None:
    async with running_app(FakeSentry()) as dead_url:
        pass  # the port is closed again: nothing listens there now
    settings = make_settings(base_url=dead_url, max_retries=1)
    alice = identity("alice", "sentry:read sentry:write", audience=AUDIENCE)
    with anyio.fail_after(15):
        async with SentryClient(settings) as client:
            app = build_app(
                build_server(settings, client), settings, ready=lambda: client.organization("acme")
            )
            async with running_app(app) as base, connect(base + settings.path, identity=alice) as session:
                result = await session.call_tool("get_issue", {"issue": "1001"})
                async with httpx2.AsyncClient() as http:
                    ready = await http.get(base + "/readyz")
    assert result.is_error
    assert f"Sentry is unreachable at {dead_url}" in text_of(result)
    assert audit_lines[-1]["outcome"] == "backend_error"
    assert ready.status_code == 503


ARGS: dict[str, dict[str, Any]] = {
    "whoami": {},
    "find_organizations": {},
    "find_projects": {},
    "find_teams": {},
    "search_issues": {},
    "get_issue": {"issue": "1001"},
    "get_event": {"event_id": "0100" + "e" * 28},
    "list_issue_events": {"issue": "1001"},
    "search_events": {"fields": ["title"]},
    "get_trace": {"trace_id": "a" * 32},
    "find_releases": {},
    "get_release": {"version": "backend@1.0.0"},
    "resolve_issue": {"issue": "1001"},
    "unresolve_issue": {"issue": "1001"},
    "ignore_issue": {"issue": "1001"},
    "assign_issue": {"issue": "1001", "assignee": "me"},
    "add_issue_note": {"issue": "1001", "text": "hi"},
}


@pytest.mark.parametrize("tool", sorted(ARGS))
async def test_every_tool_answers_a_stalled_sentry_with_a_timeout_error(
    fake: FakeSentry, make_settings: Any, tool: str
) -> None:
    from mcp import Client

    from fleet_core.testing import acting_as

    settings = make_settings(timeout_seconds=0.2, max_retries=0)
    fake.stall()
    with anyio.fail_after(10):
        async with serve_fake(fake) as sentry_url:
            async with SentryClient(settings.model_copy(update={"base_url": sentry_url})) as client:
                with acting_as(identity("alice", "sentry:read sentry:write", audience=AUDIENCE)):
                    async with Client(build_server(settings, client)) as session:
                        result = await session.call_tool(tool, ARGS[tool])
            fake.release()
    assert result.is_error
    assert "Sentry did not answer within 0.2s" in text_of(result)
    assert len(fake.calls) == 1


async def test_an_authgate_token_attributes_the_change_to_the_username(
    fake: FakeSentry, make_settings: Any, audit_lines: list[dict[str, Any]]
) -> None:
    """jwt trust mode with an AuthGate-shaped token: sub is a UUID, the note names `extra_uid`; a token
    without that claim changes nothing."""
    from fleet_core import TrustMode, dev_subject
    from fleet_core.testing import JwtIssuer

    async with JwtIssuer() as issuer:
        settings = make_settings(trust_mode=TrustMode.JWT, issuer=issuer.url)
        good = issuer.mint(AUDIENCE, scope="sentry:read sentry:write")
        bare = issuer.mint(AUDIENCE, scope="sentry:read sentry:write", extra_uid=None)
        with anyio.fail_after(15):
            async with (
                serve_fake(fake) as sentry_url,
                SentryClient(settings.model_copy(update={"base_url": sentry_url})) as client,
                serve_server(build_server(settings, client), settings) as url,
            ):
                async with connect(url, token=good, secret=None) as session:
                    done = await session.call_tool("resolve_issue", {"issue": "BACKEND-1"})
                async with connect(url, token=bare, secret=None) as session:
                    refused = await session.call_tool("add_issue_note", {"issue": "1001", "text": "hi"})
    assert not done.is_error
    assert fake.notes("1001") == ["Resolved by alice via mcp-fleet"]
    assert refused.is_error
    assert "has no Sentry account name" in refused.content[0].model_dump()["text"]
    ok = next(line for line in audit_lines if line.get("tool") == "resolve_issue")
    assert (ok["subject"], ok["account"]) == (dev_subject("alice"), "alice")
