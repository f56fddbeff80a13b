"""The change-review, project-tracking and delete tools in depth against the spec-checked fake: what
they send, what they change, the spec-legal shapes they must survive, and confirmation for deletes."""

from __future__ import annotations

import pytest

from fleet_gitea.fake import FakeGitea
from fleet_gitea.testing import DESTRUCTIVE_TOOLS, VALID, WRITE_TOOLS, Harness

R = {"owner": "alice", "repo": "demo"}


async def test_commit_status_green_red_and_none(h: Harness) -> None:
    red = await h.ok("get_commit_status", {**R, "ref": "feature/login"})
    assert (red["state"], red["total"], red["failing"]) == ("failure", 3, ["ci/test"])
    green = await h.ok("get_commit_status", {**R, "ref": "main"})
    assert (green["state"], green["failing"]) == ("success", [])
    # spec-legal: a commit nobody reported on has no combined state at all, and no checks
    none = await h.ok("get_commit_status", {**R, "ref": "docs/typo"})
    assert (none["state"], none["checks"], none["total"]) == ("", [], 0)


async def test_pull_request_status_has_checks_and_runs(h: Harness) -> None:
    status = await h.ok("get_pull_request_status", {**R, "number": 3})
    assert status["head"] == "feature/login"
    assert status["status"]["failing"] == ["ci/test"]
    assert [r["id"] for r in status["runs"]] == [42]
    assert "not found" in await h.error("get_pull_request_status", {**R, "number": 1})  # an issue


async def test_compare_a_branch_with_a_slash_and_get_a_patch(h: Harness, fake: FakeGitea) -> None:
    mark = len(fake.requests)
    diff = await h.ok("compare_refs", {**R, "base": "main", "head": "feature/login"})
    assert diff["total_commits"] == 1
    assert [c["title"] for c in diff["commits"]] == ["Add login"]
    assert {f["filename"] for f in diff["files"]} == {"src/login.py", "src/app.py"}
    assert fake.requests[mark].path == "/api/v1/repos/alice/demo/compare/main...feature/login"
    patch = await h.ok("get_commit_patch", {**R, "sha": "feature/login"})
    assert "Subject: [PATCH] Add login" in patch["patch"]
    assert "+def login():" in patch["patch"]


async def test_line_comment_then_read_it_back(h: Harness) -> None:
    review = await h.ok(
        "comment_on_pull_request_line",
        {**R, "number": 3, "path": "src/app.py", "line": 1, "side": "old", "body": "was this on purpose?"},
        subject="bob",
    )
    assert (review["reviewer"], review["state"]) == ("bob", "COMMENT")
    comments = (await h.ok("list_pull_request_review_comments", {**R, "number": 3}))["result"]
    assert [(c["author"], c["path"], c["line"], c["old_line"]) for c in comments] == [
        ("bob", "src/app.py", None, 1)  # spec-legal: position 0 for a removed line
    ]
    only = await h.ok("list_pull_request_review_comments", {**R, "number": 3, "review_id": review["id"]})
    assert len(only["result"]) == 1
    refused = await h.error(
        "comment_on_pull_request_line", {**VALID["comment_on_pull_request_line"], "path": "x.py"}
    )
    assert "not in the pull request" in refused


async def test_notifications_are_the_callers_own(h: Harness) -> None:
    unread = await h.ok("list_notifications", {}, subject="alice")
    assert {(n["title"], n["unread"]) for n in unread["items"]} == {
        ("Crash on start", True),
        ("Secret plan", True),
    }
    everything = await h.ok("list_notifications", {"include_read": True}, subject="alice")
    assert {n["title"] for n in everything["items"]} == {"Crash on start", "Add dark mode", "Secret plan"}
    assert {n["title"] for n in (await h.ok("list_notifications", {}, subject="bob"))["items"]} == {
        "Crash on start"  # bob can't see alice/notes, so nothing from there
    }
    assert (await h.ok("list_notifications", {}, subject="carol"))["items"][0]["type"] == "Pull"


async def test_actions_dispatch_rerun_cancel(h: Harness, fake: FakeGitea) -> None:
    run = await h.ok("dispatch_workflow", VALID["dispatch_workflow"])
    assert run["run_id"]
    assert run["html_url"].endswith("/actions/runs/4")
    assert "not found" in await h.error("dispatch_workflow", {**R, "workflow": "nope.yml", "ref": "main"})
    again = await h.ok("rerun_action_run", {**R, "run_id": 42, "failed_only": True})
    assert (again["id"], again["status"]) == (42, "queued")
    assert "no failed jobs" in await h.error("rerun_action_run", {**R, "run_id": 41, "failed_only": True})
    cancelled = await h.ok("cancel_action_run", {**R, "run_id": 43})
    assert cancelled["conclusion"] == "cancelled"
    assert "already completed" in await h.error("cancel_action_run", {**R, "run_id": 41})


async def test_issue_milestone_and_due_date_set_and_cleared(h: Harness, fake: FakeGitea) -> None:
    issue = fake.repos["alice/demo"].issues[2]
    await h.ok("set_issue_milestone", {**R, "number": 2, "milestone": "v1.0"})
    assert issue.milestone == 1
    await h.ok("set_issue_milestone", {**R, "number": 2, "milestone": None})
    assert not issue.milestone
    assert "no milestone 'v9'" in await h.error("set_issue_milestone", {**R, "number": 2, "milestone": "v9"})
    await h.ok("set_issue_due_date", {**R, "number": 2, "due": "2026-02-01"})
    assert issue.due_date == "2026-02-01T23:59:59Z"
    await h.ok("set_issue_due_date", {**R, "number": 2, "due": None})
    assert issue.due_date is None


async def test_labels_and_milestones_are_managed_by_name(h: Harness, fake: FakeGitea) -> None:
    created = await h.ok("create_label", VALID["create_label"])
    assert (created["name"], created["color"]) == ("security", "b60205")
    edited = await h.ok("edit_label", {**R, "name": "security", "new_name": "sec", "color": "000000"})
    assert (edited["name"], edited["color"]) == ("sec", "000000")
    assert "no label 'nope'" in await h.error("edit_label", {**R, "name": "nope", "color": "000000"})
    milestone = await h.ok("create_milestone", VALID["create_milestone"])
    assert milestone["due_on"] == "2026-06-30T23:59:59Z"
    closed = await h.ok("edit_milestone", {**R, "title": "v2.0", "state": "closed"})
    assert closed["state"] == "closed"


async def test_wiki_create_edit_delete(h: Harness, fake: FakeGitea) -> None:
    page = await h.ok("create_wiki_page", VALID["create_wiki_page"])
    assert page["page_name"] == "Runbook"
    await h.ok("edit_wiki_page", {**R, "page_name": "Runbook", "content": "v2", "title": "Run Book"})
    assert fake.repos["alice/demo"].wiki["Run-Book"] == "v2"
    await h.ok("delete_wiki_page", {**R, "page_name": "Run-Book", "confirm": True})
    assert "Run-Book" not in fake.repos["alice/demo"].wiki
    # editing the page whose stored content wasn't base64 replaces it with content that is
    await h.ok("edit_wiki_page", {**R, "page_name": "Imported-Page", "content": "fixed"})
    assert (await h.ok("get_wiki_page", {**R, "page_name": "Imported-Page"}))["content"] == "fixed"


@pytest.mark.parametrize("tool", sorted(t for t in WRITE_TOOLS if t.startswith("delete_")))
async def test_destructive_tools_do_nothing_without_confirm(h: Harness, fake: FakeGitea, tool: str) -> None:
    mark = len(fake.requests)
    text = await h.error(tool, {**VALID[tool], "confirm": False})
    assert "call it again with confirm=true" in text
    assert fake.requests[mark:] == []


async def test_deletes_take_effect(h: Harness, fake: FakeGitea) -> None:
    demo = fake.repos["alice/demo"]
    for tool in sorted(t for t in WRITE_TOOLS if t.startswith("delete_")):
        await h.ok(tool, VALID[tool])
    assert "docs/typo" not in demo.branches
    assert "v0.0.1" not in demo.tags
    assert demo.releases == []
    assert "docs/guide.md" not in demo.commits[demo.branches["main"]].tree
    assert [lb["name"] for lb in demo.labels] == ["bug"]
    assert demo.milestones == []
    assert "Home" not in demo.wiki
    assert "default branch" in await h.error("delete_branch", {**R, "branch": "main", "confirm": True})


async def test_tools_list_marks_destructive_tools(h: Harness) -> None:
    from fleet_core.testing import connect, identity

    who = identity("alice", "gitea:read gitea:write", audience=h.settings.public_url)
    async with connect(h.url, identity=who) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert len(tools) >= 58
    destructive = {n for n, t in tools.items() if t.annotations and t.annotations.destructive_hint}
    assert destructive == DESTRUCTIVE_TOOLS
    open_world = {n for n, t in tools.items() if t.annotations and t.annotations.open_world_hint}
    assert open_world == {"dispatch_workflow", "rerun_action_run"}
    for name in DESTRUCTIVE_TOOLS - {"create_or_update_file", "merge_pull_request"}:
        assert "confirm" in tools[name].input_schema["properties"], name
