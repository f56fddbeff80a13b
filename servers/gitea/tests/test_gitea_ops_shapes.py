"""Domain functions against answers shaped like a real Gitea's (nulls the swagger can't express)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from fleet_gitea.backend import GiteaClient
from fleet_gitea.convert import issue_summary, pull_summary, release
from fleet_gitea.ops import GiteaOps


def test_issue_with_gitea_nulls() -> None:
    issue: dict[str, Any] = {
        "number": 7, "title": "t", "state": "open", "user": {"login": "bob", "avatar_url": "x"},
        "labels": None, "assignee": None, "assignees": None, "milestone": None, "pull_request": None,
        "repository": {"full_name": "a/b"}, "comments": 0, "updated_at": "2026-01-01T00:00:00Z",
        "html_url": "u",
    }  # fmt: skip
    summary = issue_summary(issue)
    assert (summary.labels, summary.assignees, summary.milestone, summary.is_pull_request) == (
        [],
        [],
        None,
        False,
    )
    assert summary.author == "bob"


def test_pull_and_release_with_gitea_nulls() -> None:
    pull = pull_summary(
        {"number": 1, "title": "t", "state": "open", "user": None, "head": None, "base": None}
    )
    assert (pull.author, pull.head, pull.base) == ("", "", "")
    rel = release({"id": 1, "tag_name": "v1", "author": None, "published_at": None, "body": None})
    assert (rel.author, rel.published_at, rel.body) == ("", "", "")


async def test_file_over_giteas_blob_limit_is_reported_truncated_not_empty() -> None:
    answer = {"type": "file", "path": "big.bin", "sha": "a" * 40, "size": 20_000_000, "content": None}
    gitea = GiteaClient("http://gitea.test", "t", transport=httpx2.MockTransport(
        lambda request: httpx2.Response(200, json=answer)))  # fmt: skip
    result = await GiteaOps(gitea).get_file_contents("alice", "a", "b", "big.bin", None)
    await gitea.aclose()
    assert (result.content, result.truncated, result.size) == (None, True, 20_000_000)


async def test_symlink_is_not_returned_as_a_file() -> None:
    answer = {"type": "symlink", "path": "link", "sha": "a" * 40, "size": 4, "target": "x"}
    gitea = GiteaClient("http://gitea.test", "t", transport=httpx2.MockTransport(
        lambda request: httpx2.Response(200, json=answer)))  # fmt: skip
    with pytest.raises(Exception, match="is a symlink, not a file"):
        await GiteaOps(gitea).get_file_contents("alice", "a", "b", "link", None)
    await gitea.aclose()


async def test_a_detail_carries_exactly_its_summary_fields() -> None:
    """get_issue builds IssueDetail from the summary's fields directly (validated once): the shared
    fields are those issue_summary gives, nulls and all, and the detail adds only its own."""
    issue: dict[str, Any] = {
        "number": 7, "title": "t", "state": "open", "user": None, "labels": None, "assignees": None,
        "milestone": {"title": "v1"}, "pull_request": None, "comments": 3, "body": None,
        "updated_at": "2026-01-01T00:00:00Z", "html_url": "u",
    }  # fmt: skip
    comments = [{"id": 1, "user": {"login": "eve"}, "body": "x" * 5000, "created_at": "c"}]

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=comments if request.url.path.endswith("/comments") else issue)

    gitea = GiteaClient("http://gitea.test", "t", transport=httpx2.MockTransport(handler))
    detail = await GiteaOps(gitea).get_issue("alice", "a", "b", 7)
    await gitea.aclose()
    summary = issue_summary({"repository": {"full_name": "a/b"}, **issue}).model_dump()
    dumped = detail.model_dump()
    assert {k: dumped[k] for k in summary} == summary
    assert list(dumped) == [*summary, "body", "comment_list", "comments_truncated"]
    assert (dumped["body"], dumped["comments_truncated"]) == ("", False)
    assert dumped["comment_list"][0]["body"].endswith("… [truncated]")
