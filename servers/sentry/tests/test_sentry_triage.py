"""The triage tools in depth: tag breakdowns with spec-legal nulls, counts over time, activity, merges
that need confirmation, Seer, and a 403 from Sentry as a clear error for every tool."""

from __future__ import annotations

from typing import Any

import pytest

from fleet_sentry.fake import FakeSentry

from .test_sentry_tools import HAPPY


def text(result: Any) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


async def test_tag_breakdown_counts_events_without_the_tag_as_a_null_value(call: Any) -> None:
    result = await call("get_issue_tags", {"issue": "BACKEND-1", "keys": ["url", "environment"]})
    tags = {t["key"]: t for t in result.structured_content["tags"]}
    url = tags["url"]
    assert url["total"] == 3
    assert url["unique_values"] == 1
    assert [(v["value"], v["count"], v["percent"]) for v in url["top"]] == [
        (None, 2, 66.7),
        ("https://shop.example/checkout", 1, 33.3),
    ]
    env = await call("get_issue_tags", {"issue": "BACKEND-1", "environment": "production"})
    by_key = {t["key"]: t for t in env.structured_content["tags"]}
    assert [v["value"] for v in by_key["environment"]["top"]] == ["production"]


async def test_activity_reads_untyped_items(call: Any) -> None:
    result = await call("get_issue_activity", {"issue": "BACKEND-1"})
    items = result.structured_content["items"]
    assert items[0] == {
        "type": "set_priority",
        "when": items[0]["when"],
        "user": "alice@example.com",
        "detail": None,
    }
    assert items[1]["detail"] == "backend@1.1.0"


async def test_issue_event_counts_say_whether_it_is_new(call: Any, fake: FakeSentry) -> None:
    result = await call("get_issue_event_counts", {"issue": "FRONTEND-4", "stats_period": "14d"})
    counts = result.structured_content
    assert counts["new_in_period"] is True
    assert counts["events_in_period"] == 1
    assert counts["first_release"] == "frontend@1.0.0"
    assert len(counts["buckets"]) == 14
    sent = next(c for c in fake.calls if c.operation == "listOrganizationEventsTimeseries")
    assert ("query", "issue:FRONTEND-4") in sent.query


async def test_merge_needs_confirmation_and_one_project(call: Any, fake: FakeSentry) -> None:
    refused = await call("merge_issues", {"issues": ["1002", "1003"]})
    assert refused.is_error
    assert "confirm=true" in text(refused)
    assert fake.calls == []
    across = await call("merge_issues", {"issues": ["1001", "1004"], "confirm": True})
    assert across.is_error
    assert "same project" in text(across)
    merged = await call("merge_issues", {"issues": ["BACKEND-1", "1002"], "confirm": True})
    assert merged.structured_content["parent"] == "1001"
    assert "1002" not in fake.issues
    assert fake.notes("1001") == ["Merged 1002 into 1001 by alice via mcp-fleet"]


async def test_autofix_start_then_state(call: Any, fake: FakeSentry) -> None:
    started = await call("start_issue_autofix", {"issue": "BACKEND-1", "instructions": "look at the config"})
    assert started.structured_content["run_id"] == "7000"
    assert (
        fake.notes("1001")[-1]
        == "Seer autofix started (run 7000) by alice via mcp-fleet\n\nlook at the config"
    )
    state = (await call("get_issue_autofix", {"issue": "BACKEND-1"})).structured_content
    assert state["exists"] is True
    assert state["status"] == "PROCESSING"
    assert state["summary"].startswith("# Root cause")


async def test_priority_and_bookmark_reach_the_issue(call: Any, fake: FakeSentry) -> None:
    await call("set_issue_priority", {"issue": "1002", "priority": "low"})
    await call("bookmark_issue", {"issue": "1002", "bookmarked": False})
    assert fake.issues["1002"]["priority"] == "low"
    assert fake.issues["1002"]["isBookmarked"] is False
    assert fake.notes("1002") == [
        "Priority set to low by alice via mcp-fleet",
        "Bookmark removed by alice via mcp-fleet",
    ]


async def test_release_health_is_asked_for_one_project_by_id(call: Any, fake: FakeSentry) -> None:
    await call("get_release_health", {"version": "backend@1.0.0", "project": "backend"})
    sent = next(c for c in fake.calls if c.operation == "getOrganizationRelease")
    assert ("project", "100") in sent.query
    assert ("health", "true") in sent.query


@pytest.mark.parametrize("tool", sorted(HAPPY))
async def test_sentry_forbidding_is_a_clear_error(call: Any, fake: FakeSentry, tool: str) -> None:
    fake.fail(403, times=100)
    result = await call(tool, HAPPY[tool][0])
    assert result.is_error
    assert "Sentry denied access" in text(result), text(result)
