"""Regressions: spec-legal answers that once crashed a tool, and the parameters Sentry really honours."""

from __future__ import annotations

from typing import Any

import pytest

from fleet_sentry.fake import FakeSentry

from .test_sentry_tools import HAPPY


def text(result: Any) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


async def test_string_counts_that_are_not_plain_digits_do_not_crash(call: Any) -> None:
    # `count` is typed `string` in the spec; int("5.0") used to crash search_issues and get_issue.
    result = await call("search_issues", {"query": "", "sort": "freq"})
    assert not result.is_error, text(result)
    events = {i["short_id"]: i["events"] for i in result.structured_content["issues"]}
    assert events["FRONTEND-5"] == 5
    assert events["CHECKOUT-6"] is None  # "n/a": no number to give, but no crash either
    single = await call("get_issue", {"issue": "CHECKOUT-6"})
    assert not single.is_error, text(single)
    assert single.structured_content["issue"]["events"] is None


async def test_event_entries_that_are_not_objects_are_skipped(call: Any, fake: FakeSentry) -> None:
    # `entries` items are `{}` (anything) in the spec; a string or null entry used to crash.
    event = fake.events["1001"][0]
    assert "legacy-entry" in event["entries"]
    assert None in event["entries"]
    event["entries"].append({"type": "exception", "data": ["not", "an", "object"]})
    result = await call("get_event", {"event_id": event["eventID"]})
    assert not result.is_error, text(result)
    assert result.structured_content["exceptions"] == []  # the last exception entry wins, and is empty


async def test_search_issues_uses_sentrys_project_and_environment_parameters(
    call: Any, fake: FakeSentry
) -> None:
    result = await call(
        "search_issues", {"query": "is:unresolved", "project": "frontend", "environment": "production"}
    )
    assert not result.is_error, text(result)
    assert [i["short_id"] for i in result.structured_content["issues"]] == ["FRONTEND-4"]
    assert result.structured_content["query"] == "is:unresolved"  # nothing appended to the text
    sent = next(c for c in fake.calls if c.operation == "listOrganizationIssues")
    assert ("project", "101") in sent.query  # the numeric id: Sentry answers 400 to a slug there
    assert ("environment", "production") in sent.query


async def test_search_issues_in_an_unknown_project_is_not_found(call: Any) -> None:
    result = await call("search_issues", {"project": "nope"})
    assert result.is_error
    assert "Not found in Sentry: project 'nope'" in text(result)


async def test_search_events_filters_by_project_parameter(call: Any, fake: FakeSentry) -> None:
    result = await call("search_events", {"fields": ["issue", "count()"], "project": "backend"})
    assert not result.is_error, text(result)
    assert {r["issue"] for r in result.structured_content["rows"]} == {"BACKEND-1", "BACKEND-2", "BACKEND-3"}
    sent = next(c for c in fake.calls if c.operation == "listOrganizationEvents")
    assert ("project", "100") in sent.query
    assert "project:" not in dict(sent.query).get("query", "")


@pytest.mark.parametrize("tool", sorted(HAPPY))
async def test_tool_survives_the_sparest_answers_the_spec_allows(
    call: Any, fake: FakeSentry, tool: str
) -> None:
    # Every answer stripped to the fields the spec requires: each tool still answers, or says clearly
    # why not — never a bare "Error executing tool".
    fake.minimal_answers = True
    result = await call(tool, HAPPY[tool][0])
    if result.is_error:
        prefix = f"Error executing tool {tool}: "
        assert text(result).startswith(prefix), text(result)
        assert len(text(result)) > len(prefix) + 10, text(result)
