"""Every tool in memory against the spec-checked fake: happy path, not found, bad input, failures, pages."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from fleet_core.testing import identity
from fleet_sentry.fake import FakeSentry

LATEST = "0100" + "e" * 28  # the fake's latest event of issue 1001 (BACKEND-1)
TRACE = "a" * 31 + "1"


def text(result: Any) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


WRITES = {
    "resolve_issue", "unresolve_issue", "ignore_issue", "assign_issue", "add_issue_note",
    "set_issue_priority", "bookmark_issue", "merge_issues", "start_issue_autofix",
}  # fmt: skip
DESTRUCTIVE = {"merge_issues"}

# tool → (happy-path arguments, a check on the structured result)
HAPPY: dict[str, tuple[dict[str, Any], Any]] = {
    "whoami": ({}, lambda r: r["organization"]["slug"] == "acme" and r["sentry_user"] == "alice@example.com"),
    "find_organizations": ({}, lambda r: [o["slug"] for o in r["organizations"]] == ["acme", "acme-labs"]),
    "find_projects": (
        {},
        lambda r: {p["slug"] for p in r["projects"]} == {"backend", "frontend", "checkout"},
    ),
    "find_teams": ({"query": "pay"}, lambda r: [t["slug"] for t in r["teams"]] == ["payments"]),
    "search_issues": (
        {"query": "is:unresolved level:error", "sort": "freq"},
        lambda r: [i["short_id"] for i in r["issues"]] == ["FRONTEND-4", "BACKEND-1", "BACKEND-2"],
    ),
    "get_issue": ({"issue": "BACKEND-1"}, lambda r: r["latest_event"]["event_id"] == LATEST),
    "get_event": ({"event_id": LATEST}, lambda r: r["project"] == "backend" and r["issue_id"] == "1001"),
    "list_issue_events": ({"issue": "1001"}, lambda r: len(r["events"]) == 3),
    "search_events": (
        {"fields": ["issue", "count()"], "sort": "-count()"},
        lambda r: r["rows"][0] == {"issue": "BACKEND-1", "count()": 3},
    ),
    "get_trace": (
        {"trace_id": TRACE},
        lambda r: r["span_count"] == 61 and r["errors"][0]["issue"] == "BACKEND-1",
    ),
    "find_releases": ({}, lambda r: r["releases"][0]["version"] == "frontend@2.0.0"),
    "get_release": ({"version": "backend@1.0.0"}, lambda r: r["version"] == "backend@1.0.0"),
    "resolve_issue": ({"issue": "BACKEND-2"}, lambda r: r["issue"]["status"] == "resolved"),
    "unresolve_issue": ({"issue": "FRONTEND-5"}, lambda r: r["issue"]["status"] == "unresolved"),
    "ignore_issue": ({"issue": "1003", "duration_minutes": 60}, lambda r: r["issue"]["status"] == "ignored"),
    "assign_issue": (
        {"issue": "1003", "assignee": "me"},
        lambda r: r["issue"]["assigned_to"] == "alice@example.com",
    ),
    "add_issue_note": (
        {"issue": "1003", "text": "looking"},
        lambda r: r["note"]["text"].startswith("looking"),
    ),
    "get_issue_tags": (
        {"issue": "BACKEND-1"},
        lambda r: (
            {t["key"] for t in r["tags"]} >= {"environment", "release", "url", "user"}
            and "browser" in r["absent"]
        ),
    ),
    "list_issue_tag_values": (
        {"issue": "1001", "key": "environment"},
        lambda r: [(v["value"], v["count"]) for v in r["values"]] == [("staging", 2), ("production", 1)],
    ),
    "get_issue_activity": (
        {"issue": "BACKEND-1"},
        lambda r: [i["type"] for i in r["items"]] == ["set_priority", "set_regression", "first_seen"],
    ),
    "get_issue_event_counts": (
        {"issue": "BACKEND-1", "stats_period": "24h"},
        lambda r: r["events_in_period"] == 3 and r["new_in_period"] is False and len(r["buckets"]) == 24,
    ),
    "get_event_counts": (
        {"query": "level:error", "group_by": ["project"]},
        lambda r: (
            {s["group"]["project"]: s["total"] for s in r["series"]} == {"backend": 4.0, "frontend": 1.0}
        ),
    ),
    "get_release_health": (
        {"version": "backend@1.0.0", "project": "backend"},
        lambda r: (
            r["projects"][0]["crash_free_sessions"] == 99.25 and r["projects"][0]["crash_free_users"] is None
        ),
    ),
    "list_release_commits": ({"version": "backend@1.0.0"}, lambda r: len(r["commits"]) == 3),
    "list_release_deploys": (
        {"version": "backend@1.0.0"},
        lambda r: [d["environment"] for d in r["deploys"]] == ["staging", "production"],
    ),
    "list_user_feedback": ({"project": "backend"}, lambda r: len(r["feedback"]) == 3),
    "get_issue_autofix": ({"issue": "BACKEND-1"}, lambda r: r["exists"] is False),
    "set_issue_priority": (
        {"issue": "BACKEND-2", "priority": "high"},
        lambda r: r["action"] == "Priority set to high" and "alice" in r["note"]["text"],
    ),
    "bookmark_issue": ({"issue": "BACKEND-2"}, lambda r: r["action"] == "Bookmarked"),
    "merge_issues": (
        {"issues": ["BACKEND-2", "BACKEND-3"], "confirm": True},
        lambda r: r["parent"] == "1002" and r["children"] == ["1003"],
    ),
    "start_issue_autofix": ({"issue": "BACKEND-1"}, lambda r: r["run_id"] == "7000"),
}


async def test_tool_list_is_the_documented_surface(call: Any, mcp: Any) -> None:
    from mcp import Client

    async with Client(mcp) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == set(HAPPY)
    for name, tool in tools.items():
        scope = (tool.meta or {}).get("fleet/scope")
        writes = name in WRITES
        assert scope == ("sentry:write" if writes else "sentry:read"), name
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is (not writes), name
        assert tool.annotations.destructive_hint is (name in DESTRUCTIVE), name


@pytest.mark.parametrize("tool", sorted(HAPPY))
async def test_tool_happy_path(call: Any, tool: str) -> None:
    args, check = HAPPY[tool]
    with anyio.fail_after(10):
        result = await call(tool, args)
    assert not result.is_error, text(result)
    assert check(result.structured_content), result.structured_content


NOT_FOUND: dict[str, dict[str, Any]] = {
    "whoami": {"organization": "nope"},
    "find_projects": {"organization": "nope"},
    "find_teams": {"organization": "nope"},
    "search_issues": {"organization": "nope"},
    "get_issue": {"issue": "NOPE-1"},
    "get_event": {"event_id": "f" * 32},
    "list_issue_events": {"issue": "999"},
    "search_events": {"organization": "nope", "fields": ["title"]},
    "get_trace": {"trace_id": "c" * 32},
    "find_releases": {"organization": "nope"},
    "get_release": {"version": "backend@9.9.9"},
    "resolve_issue": {"issue": "999"},
    "unresolve_issue": {"issue": "NOPE-2"},
    "ignore_issue": {"issue": "999"},
    "assign_issue": {"issue": "999", "assignee": "me"},
    "add_issue_note": {"issue": "999", "text": "hello"},
    "get_issue_tags": {"issue": "NOPE-3"},
    "list_issue_tag_values": {"issue": "1001", "key": "browser"},
    "get_issue_activity": {"issue": "999"},
    "get_issue_event_counts": {"issue": "999"},
    "get_event_counts": {"organization": "nope"},
    "get_release_health": {"version": "backend@9.9.9"},
    "list_release_commits": {"version": "backend@9.9.9"},
    "list_release_deploys": {"version": "backend@9.9.9"},
    "list_user_feedback": {"project": "nope"},
    "get_issue_autofix": {"issue": "999"},
    "set_issue_priority": {"issue": "999", "priority": "low"},
    "bookmark_issue": {"issue": "NOPE-9"},
    "merge_issues": {"issues": ["999", "1001"], "confirm": True},
    "start_issue_autofix": {"issue": "999"},
}


@pytest.mark.parametrize("tool", sorted(NOT_FOUND))
async def test_tool_not_found(call: Any, tool: str) -> None:
    with anyio.fail_after(10):
        result = await call(tool, NOT_FOUND[tool])
    assert result.is_error
    assert "Not found in Sentry" in text(result)


BAD_SYNTAX: dict[str, tuple[dict[str, Any], str]] = {
    "search_issues": ({"query": "is:unresolved (level:error"}, "unmatched parentheses"),
    "list_issue_events": ({"issue": "1001", "query": 'message:"oops'}, "Unbalanced quotes"),
    "search_events": ({"fields": ["title"], "query": "level:error )"}, "unmatched parentheses"),
}


@pytest.mark.parametrize("tool", sorted(BAD_SYNTAX))
async def test_bad_query_syntax_quotes_sentrys_error(call: Any, tool: str) -> None:
    args, quoted = BAD_SYNTAX[tool]
    result = await call(tool, args)
    assert result.is_error
    message = text(result)
    assert "Sentry rejected the request" in message
    assert "(400)" in message
    assert quoted in message


async def test_invalid_search_value_quotes_sentry(call: Any) -> None:
    result = await call("search_issues", {"query": "is:sleeping"})
    assert result.is_error
    assert 'Invalid value for "is" search' in text(result)


BAD_INPUT: dict[str, dict[str, Any]] = {
    "find_organizations": {"limit": 0},
    "find_projects": {"cursor": "../../x"},
    "find_teams": {"limit": 1000},
    "search_issues": {"stats_period": "two weeks"},
    "get_issue": {"issue": "../1"},
    "get_event": {"event_id": "not-hex"},
    "list_issue_events": {"issue": "1001", "stats_period": "1y"},
    "search_events": {"fields": []},
    "get_trace": {"trace_id": "123"},
    "get_release": {"version": ""},
    "resolve_issue": {"issue": ""},
    "ignore_issue": {"issue": "1001", "duration_minutes": 0},
    "assign_issue": {"issue": "1001", "assignee": ""},
    "add_issue_note": {"issue": "1001", "text": ""},
    "whoami": {"organization": 12},
    "find_releases": {"limit": -1},
    "unresolve_issue": {"issue": "a b"},
    "get_issue_tags": {"issue": "1001", "keys": ["bad key!"]},
    "list_issue_tag_values": {"issue": "1001", "key": ""},
    "get_issue_activity": {"issue": ""},
    "get_issue_event_counts": {"issue": "1001", "stats_period": "forever"},
    "get_event_counts": {"top": 11},
    "get_release_health": {"version": "x", "stats_period": "5d"},
    "list_release_commits": {"version": ""},
    "list_release_deploys": {"version": "x", "limit": 0},
    "list_user_feedback": {"project": ""},
    "get_issue_autofix": {"issue": "a/b"},
    "set_issue_priority": {"issue": "1001", "priority": "urgent"},
    "bookmark_issue": {"issue": "1001", "bookmarked": "maybe"},
    "merge_issues": {"issues": ["1001"], "confirm": True},
    "start_issue_autofix": {"issue": "1001", "instructions": "x" * 1001},
}


@pytest.mark.parametrize("tool", sorted(BAD_INPUT))
async def test_bad_input_is_refused_before_sentry(call: Any, fake: FakeSentry, tool: str) -> None:
    result = await call(tool, BAD_INPUT[tool])
    assert result.is_error
    assert fake.calls == []


@pytest.mark.parametrize("tool", sorted(HAPPY))
async def test_backend_down_is_a_clear_backend_error(call: Any, fake: FakeSentry, tool: str) -> None:
    fake.fail(503, times=100)
    with anyio.fail_after(10):
        result = await call(tool, HAPPY[tool][0])
    assert result.is_error
    assert "Sentry failed with HTTP 503" in text(result)
    methods = [c.method for c in fake.calls]
    assert methods.count("GET") in (0, 3)  # a read is tried 1 + max_retries times
    assert methods.count("PUT") <= 1
    assert methods.count("POST") <= 1


PAGED: dict[str, tuple[dict[str, Any], str, str, int]] = {
    # tool: (args, list key, item key, total items the fake has)
    "find_organizations": ({}, "organizations", "slug", 2),
    "find_projects": ({}, "projects", "slug", 3),
    "find_teams": ({}, "teams", "slug", 3),
    "search_issues": ({"query": "is:unresolved"}, "issues", "id", 4),
    "list_issue_events": ({"issue": "1001"}, "events", "event_id", 3),
    "search_events": ({"fields": ["id", "title"], "sort": "id"}, "rows", "id", 8),
    "find_releases": ({}, "releases", "version", 3),
    "list_release_commits": ({"version": "backend@1.1.0"}, "commits", "id", 4),
    "list_release_deploys": ({"version": "backend@1.1.0"}, "deploys", "environment", 2),
    "list_user_feedback": ({"project": "backend"}, "feedback", "id", 3),
}


@pytest.mark.parametrize("tool", sorted(PAGED))
async def test_pagination_across_pages(call: Any, fake: FakeSentry, tool: str) -> None:
    args, key, item, total = PAGED[tool]
    fake.page_size_cap = 1  # Sentry answers one item per page: the server must follow Link cursors
    seen: list[Any] = []
    cursor = None
    with anyio.fail_after(20):
        for _ in range(total + 1):
            result = await call(tool, {**args, "limit": 2, **({"cursor": cursor} if cursor else {})})
            assert not result.is_error, text(result)
            page = result.structured_content
            seen += [row[item] for row in page[key]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert len(seen) == total
    assert len(set(seen)) == total
    if tool != "search_events":  # discover asks for one page per call; the rest follow Link cursors
        assert len([c for c in fake.calls if c.method == "GET"]) >= total


async def test_rate_limit_is_waited_out(call: Any, fake: FakeSentry) -> None:
    fake.fail(429, times=1, retry_after="0")
    result = await call("find_projects", {})
    assert not result.is_error
    assert len(fake.calls) == 2


async def test_long_rate_limit_gives_up_with_the_wait(call: Any, fake: FakeSentry) -> None:
    fake.fail(429, times=1, retry_after="3600")
    with anyio.fail_after(5):
        result = await call("find_projects", {})
    assert result.is_error
    assert "retry after 3600s" in text(result)
    assert len(fake.calls) == 1


async def test_transient_5xx_on_a_read_is_retried(call: Any, fake: FakeSentry) -> None:
    fake.fail(502, times=2)
    result = await call("get_release", {"version": "backend@1.1.0"})
    assert not result.is_error
    assert len(fake.calls) == 3


async def test_assigned_me_means_the_caller(call: Any, fake: FakeSentry) -> None:
    result = await call(
        "search_issues", {"query": "assigned:me"}, who=identity("alice", "sentry:read", audience="x")
    )
    assert not result.is_error
    page = result.structured_content
    assert page["query"] == "assigned:alice@example.com"
    assert [i["short_id"] for i in page["issues"]] == ["BACKEND-2"]
    sent = dict(fake.calls[-1].query)["query"]
    assert "me" not in sent.split(":")[-1]


async def test_assigned_me_in_a_list_and_negated(call: Any) -> None:
    result = await call("search_issues", {"query": "!assigned:[me, none] is:unresolved"})
    assert result.structured_content["query"] == "!assigned:[alice@example.com, none] is:unresolved"
    assert [i["short_id"] for i in result.structured_content["issues"]] == ["FRONTEND-4"]


async def test_machine_caller_has_no_me(call: Any, fake: FakeSentry) -> None:
    bot = identity("client:ci-bot", "sentry:read", audience="x")
    result = await call("search_issues", {"query": "assigned:me"}, who=bot)
    assert result.is_error
    assert "no Sentry user mapping" in text(result)
    assert fake.calls == []


async def test_user_map_overrides_the_default(make_settings: Any, fake: FakeSentry) -> None:
    import httpx2

    from fleet_sentry.backend import SentryClient
    from fleet_sentry.server import build_server

    settings = make_settings(user_map='{"alice": "bob"}')
    async with SentryClient(settings, transport=httpx2.ASGITransport(app=fake)) as client:
        from mcp import Client

        from fleet_core.testing import acting_as

        with acting_as(identity("alice", "sentry:read", audience="x", account=settings.account_for("alice"))):
            async with Client(build_server(settings, client)) as session:
                result = await session.call_tool("search_issues", {"query": "assigned:me"})
    assert [i["short_id"] for i in result.structured_content["issues"]] == ["FRONTEND-4"]


async def test_refuse_gives_an_unmapped_caller_no_me(make_settings: Any, fake: FakeSentry) -> None:
    import httpx2
    from mcp import Client

    from fleet_core.testing import acting_as
    from fleet_sentry.backend import SentryClient
    from fleet_sentry.server import build_server

    settings = make_settings(user_map='{"alice": "bob"}', account_source="user_map")
    async with (
        SentryClient(settings, transport=httpx2.ASGITransport(app=fake)) as client,
        Client(build_server(settings, client)) as session,
    ):
        # the account as the gate resolves it from the settings (None: unmapped under account_source=user_map)
        with acting_as(identity("carol", "sentry:read", audience="x", account=settings.account_for("carol"))):
            refused = await session.call_tool("search_issues", {"query": "assigned:me"})
        with acting_as(identity("alice", "sentry:read", audience="x", account=settings.account_for("alice"))):
            mapped = await session.call_tool("search_issues", {"query": "assigned:me"})
    assert refused.is_error
    assert "'carol' has no Sentry user mapping" in text(refused)
    assert mapped.structured_content["query"] == "assigned:bob"


async def test_issue_details_are_trimmed_with_markers(call: Any) -> None:
    result = await call("get_issue", {"issue": "1001"})
    event = result.structured_content["latest_event"]
    (exc,) = event["exceptions"]
    assert exc["type"] == "ZeroDivisionError"
    assert exc["frames"][0] == {
        "function": "handle_1",
        "file": "app/handlers.py",
        "line": 41,
        "in_app": True,
        "code": "total = compute(order)  # ZeroDivisionError",
    }
    assert len(exc["frames"]) == 15
    assert exc["frames_omitted"] == 6
    assert [f["in_app"] for f in exc["frames"]].count(True) == 1
    assert len(event["breadcrumbs"]) == 10
    assert event["breadcrumbs_omitted"] == 15
    assert event["breadcrumbs"][-1]["message"] == "GET /api/24 200"
    assert event["tags"]["environment"] == "production"
    assert event["url"].endswith(f"/organizations/acme/issues/1001/events/{LATEST}/")
    assert result.structured_content["issue"]["url"].startswith("https://acme.sentry.example/issues/1001")


async def test_trace_spans_are_capped(call: Any) -> None:
    result = await call("get_trace", {"trace_id": TRACE})
    trace = result.structured_content
    assert trace["span_count"] == 61
    assert len(trace["spans"]) == 40
    assert trace["spans_omitted"] == 21
    assert trace["spans"][0]["depth"] == 0
    assert trace["spans"][0]["errors"] == len(trace["errors"]) == 3
    assert {s["depth"] for s in trace["spans"][1:]} == {1}


@pytest.mark.parametrize("tool", sorted(WRITES))
async def test_a_read_only_caller_cannot_change_anything(call: Any, fake: FakeSentry, tool: str) -> None:
    bob = identity("bob", "sentry:read", audience="x")
    result = await call(tool, HAPPY[tool][0], who=bob)
    assert result.is_error
    assert "insufficient scope" in text(result)
    assert fake.calls == []
