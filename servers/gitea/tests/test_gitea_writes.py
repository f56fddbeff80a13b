"""Write tools: what they change in Gitea, as whom, and how they refuse."""

from __future__ import annotations

from fleet_gitea.fake import blob_sha
from fleet_gitea.fake.state import FRepo
from fleet_gitea.testing import Harness, R


def demo(h: Harness) -> FRepo:  # the fake's state of alice/demo
    return h.fake.repos["alice/demo"]


async def test_create_issue_by_reader_and_label_validation(h: Harness) -> None:
    issue = await h.ok("create_issue", {**R, "title": "Typo in README"}, subject="bob")
    assert (issue["number"], issue["author"], issue["state"]) == (4, "bob", "open")
    assert "no such label(s) in alice/demo: nope" in await h.error(
        "create_issue", {**R, "title": "x", "labels": ["nope"]}
    )
    # a reader may open issues but not label them (Gitea's rule, applied to bob via Sudo)
    assert "permission denied" in await h.error(
        "create_issue", {**R, "title": "x", "labels": ["bug"]}, subject="bob"
    )


async def test_comment_edit_close_and_reopen(h: Harness) -> None:
    comment = await h.ok("comment_on_issue", {**R, "number": 1, "body": "Fixed in main"}, subject="carol")
    assert comment["author"] == "carol"
    assert demo(h).issues[1].comments[-1] == {"id": comment["id"], "user": "carol", "body": "Fixed in main"}
    edited = await h.ok("edit_issue", {**R, "number": 1, "title": "Crash without config", "body": "new body"})
    assert edited["title"] == "Crash without config"
    assert (await h.ok("close_issue", {**R, "number": 1}))["state"] == "closed"
    assert (await h.ok("edit_issue", {**R, "number": 1, "state": "open"}))["state"] == "open"
    assert "nothing to change" in await h.error("edit_issue", {**R, "number": 1})
    assert "not found" in await h.error("close_issue", {**R, "number": 77})
    # the poster may edit their own issue without write access
    assert (await h.ok("edit_issue", {**R, "number": 1, "title": "by bob"}, subject="bob"))[
        "title"
    ] == "by bob"


async def test_labels_and_assignees(h: Harness) -> None:
    added = await h.ok("add_issue_labels", {**R, "number": 1, "labels": ["enhancement"]})
    assert added == {"number": 1, "labels": ["bug", "enhancement"]}
    removed = await h.ok("remove_issue_label", {**R, "number": 1, "label": "bug"})
    assert removed == {"number": 1, "labels": ["enhancement"]}
    assert "not found" in await h.error("remove_issue_label", {**R, "number": 1, "label": "bug"})
    assigned = await h.ok("set_issue_assignees", {**R, "number": 1, "assignees": ["carol", "bob"]})
    assert assigned["assignees"] == ["carol", "bob"]
    assert "user does not exist" in await h.error(
        "set_issue_assignees", {**R, "number": 1, "assignees": ["zed"]}
    )
    assert (await h.ok("set_issue_assignees", {**R, "number": 1, "assignees": []}))["assignees"] == []


async def test_create_branch(h: Harness) -> None:
    branch = await h.ok("create_branch", {**R, "name": "release/1.0", "source": "main"}, subject="carol")
    assert branch["commit_sha"] == demo(h).branches["main"]
    assert "already exists" in await h.error("create_branch", {**R, "name": "release/1.0", "source": "main"})
    assert "not found" in await h.error("create_branch", {**R, "name": "x", "source": "no-such-branch"})
    assert (
        "validation error"
        in (await h.error("create_branch", {**R, "name": "bad name", "source": "main"})).lower()
    )


async def test_create_then_update_file_with_the_blob_sha_check(h: Harness) -> None:
    created = await h.ok(
        "create_or_update_file", {**R, "path": "notes/todo.md", "content": "one\n", "message": "Add"}
    )
    assert created["sha"] == blob_sha(b"one\n")
    assert "already exists" in await h.error(
        "create_or_update_file", {**R, "path": "notes/todo.md", "content": "x", "message": "Again"}
    )
    read = await h.ok("get_file_contents", {**R, "path": "notes/todo.md"})
    args = {**R, "path": "notes/todo.md", "content": "two\n", "message": "Update", "sha": read["sha"]}
    updated = await h.ok("create_or_update_file", args)
    assert updated["sha"] == blob_sha(b"two\n")
    # the same (now stale) SHA again: someone changed the file since it was read
    stale = await h.error("create_or_update_file", {**args, "content": "three\n"})
    assert "sha does not match" in stale
    head = demo(h).commits[demo(h).branches["main"]]
    assert head.tree["notes/todo.md"] == b"two\n"
    assert head.author == "alice"


async def test_file_write_to_a_new_branch(h: Harness) -> None:
    args = {
        **R,
        "path": "docs/new.md",
        "content": "x\n",
        "message": "Docs",
        "branch": "main",
        "new_branch": "docs/new",
    }
    result = await h.ok("create_or_update_file", args)
    assert result["branch"] == "docs/new"
    assert "docs/new.md" not in demo(h).commits[demo(h).branches["main"]].tree
    assert "docs/new.md" in demo(h).commits[demo(h).branches["docs/new"]].tree


async def test_open_review_and_merge_a_pull_request(h: Harness) -> None:
    pr = await h.ok("create_pull_request", {**R, "title": "Fix typo", "head": "docs/typo", "base": "main"})
    assert (pr["number"], pr["head"], pr["base"], pr["author"]) == (4, "docs/typo", "main", "alice")
    assert "already exists" in await h.error(
        "create_pull_request", {**R, "title": "again", "head": "docs/typo", "base": "main"}
    )
    review = await h.ok(
        "review_pull_request", {**R, "number": 4, "event": "APPROVED", "body": "ok"}, subject="carol"
    )
    assert (review["reviewer"], review["state"]) == ("carol", "APPROVED")
    assert "not allowed" in await h.error("review_pull_request", {**R, "number": 4, "event": "APPROVED"})
    head = demo(h).branches["docs/typo"]
    assert "head out of date" in await h.error(
        "merge_pull_request", {**R, "number": 4, "expected_head_sha": "0" * 40}, subject="carol"
    )
    merged = await h.ok(
        "merge_pull_request",
        {**R, "number": 4, "method": "squash", "expected_head_sha": head, "delete_branch": True},
        subject="carol",
    )
    assert merged == {"number": 4, "merged": True, "method": "squash", "base": "main"}
    assert demo(h).branches["main"] == head
    assert "docs/typo" not in demo(h).branches
    assert "already merged" in await h.error("merge_pull_request", {**R, "number": 4}, subject="carol")


async def test_create_release(h: Harness) -> None:
    release = await h.ok(
        "create_release", {**R, "tag": "v1.0.0", "name": "One", "body": "notes"}, subject="carol"
    )
    assert (release["tag_name"], release["name"], release["author"], release["draft"]) == (
        "v1.0.0", "One", "carol", False
    )  # fmt: skip
    assert "already exists" in await h.error("create_release", {**R, "tag": "v1.0.0"})
