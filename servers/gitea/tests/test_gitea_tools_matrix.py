"""Every tool: happy path as the caller, not found/forbidden as the caller, bad arguments."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fleet_core.testing import text_of
from fleet_gitea.testing import BACKEND_TOOLS, VALID, WRITE_TOOLS, Harness

NO_REPO_TOOLS = {"get_me", "list_my_repos", "search_repos", "search_issues", "list_notifications"}

# One invalid argument set per tool; the SDK must reject it before any request reaches Gitea.
BAD: dict[str, dict[str, Any]] = {
    "list_my_repos": {"page": 0},
    "search_repos": {"query": "x" * 500},
    "search_issues": {"query": ""},
    "list_notifications": {"limit": 500},
    **{t: {**VALID[t], "owner": "../etc"} for t in BACKEND_TOOLS if t not in NO_REPO_TOOLS},
}


@pytest.mark.parametrize("tool", BACKEND_TOOLS)
async def test_tool_happy_path_acts_as_the_caller(h: Harness, tool: str) -> None:
    mark = len(h.fake.requests)
    result = await h.ok(tool, VALID[tool], subject="carol" if tool == "merge_pull_request" else "alice")
    assert result is not None
    # trimmed: no Gitea user objects (avatar URLs, emails…) repeated inside results
    assert "avatar_url" not in json.dumps(result)
    sent = h.since(mark)
    assert sent, "the tool made no Gitea request"
    assert {r.sudo for r in sent} == {"carol" if tool == "merge_pull_request" else "alice"}


@pytest.mark.parametrize("tool", sorted(set(BACKEND_TOOLS) - NO_REPO_TOOLS))
async def test_tool_private_repo_is_not_found_for_another_user(h: Harness, tool: str) -> None:
    mark = len(h.fake.requests)
    text = await h.error(tool, {**VALID[tool], "repo": "notes"}, subject="bob")
    assert "not found as bob" in text
    assert {r.sudo for r in h.since(mark)} == {"bob"}


@pytest.mark.parametrize("tool", sorted(NO_REPO_TOOLS))
async def test_tool_caller_without_gitea_account_is_refused(h: Harness, tool: str) -> None:
    text = await h.error(tool, VALID[tool], subject="mallory")
    assert "not found as mallory" in text
    assert "user does not exist" in text


# Like Gitea, anyone who can read a repo may open issues and pull requests, comment and review.
WRITE_NEEDS_PUSH = sorted(
    WRITE_TOOLS
    - {
        "create_issue",
        "comment_on_issue",
        "review_pull_request",
        "create_pull_request",
        "comment_on_pull_request_line",
    }
)


@pytest.mark.parametrize("tool", WRITE_NEEDS_PUSH)
async def test_write_tool_forbidden_for_a_read_only_collaborator(h: Harness, tool: str) -> None:
    # bob may read alice/demo but not change it: Gitea's own permission check, applied to bob via Sudo.
    args = {**VALID[tool]}
    if tool in ("edit_issue", "close_issue"):
        args["number"] = 2  # alice's issue, not bob's
    text = await h.error(tool, args, subject="bob")
    assert "permission denied" in text or "Gitea refused" in text


@pytest.mark.parametrize("tool", sorted(BAD))
async def test_tool_rejects_bad_arguments_before_calling_gitea(h: Harness, tool: str) -> None:
    mark = len(h.fake.requests)
    text = await h.error(tool, BAD[tool])
    assert "validation error" in text.lower() or "invalid" in text.lower()
    assert h.since(mark) == []


@pytest.mark.parametrize("tool", BACKEND_TOOLS)
async def test_tool_survives_the_sparest_answers_the_spec_allows(h: Harness, tool: str) -> None:
    # Every optional field left out of every answer (the swagger requires almost none): each tool still
    # answers, or says clearly why not — never a bare "Error executing tool".
    h.fake.minimal_answers = True
    try:
        result = await h.call(tool, VALID[tool], subject="carol" if tool == "merge_pull_request" else "alice")
    finally:
        h.fake.minimal_answers = False
    if result.is_error:
        text = text_of(result)
        prefix = f"Error executing tool {tool}: "
        assert text.startswith(prefix), text
        assert len(text) > len(prefix) + 10, text
