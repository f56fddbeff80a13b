"""Test helpers for fleet-gitea (used by its tests and end-to-end tests): the spec-checked fake Gitea
over loopback HTTP, the MCP server in front of it, and one valid call per tool."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
from mcp.types import CallToolResult

from fleet_core.testing import connect, identity, serve_server, settings_for, text_of
from fleet_gitea.backend import GiteaClient
from fleet_gitea.fake import FakeGitea, RecordedRequest, blob_sha, serve_fake
from fleet_gitea.server import build_server
from fleet_gitea.settings import GiteaSettings

TOKEN = "fake-admin-token"  # noqa: S105 - the fake Gitea's token, test-only
ALL = "gitea:read gitea:write"
R = {"owner": "alice", "repo": "demo"}
GUIDE_SHA = blob_sha(b"# Guide\n\nRun it.\n")  # docs/guide.md on main in the seeded fake

# One valid call per tool, against the seeded fake (alice/demo is public; bob reads, carol writes).
VALID: dict[str, dict[str, Any]] = {
    "whoami": {},
    "get_me": {},
    "list_my_repos": {},
    "search_repos": {"query": "demo"},
    "get_repo": R,
    "list_branches": R,
    "list_tags": R,
    "list_commits": R,
    "get_commit": {**R, "sha": "main"},
    "get_file_contents": {**R, "path": "README.md"},
    "get_directory_tree": {**R, "ref": "main"},
    "list_issues": R,
    "search_issues": {"query": "crash"},
    "get_issue": {**R, "number": 1},
    "list_pull_requests": R,
    "get_pull_request": {**R, "number": 3},
    "get_pull_request_diff": {**R, "number": 3},
    "list_pull_request_reviews": {**R, "number": 3},
    "list_releases": R,
    "list_labels": R,
    "list_milestones": R,
    "list_action_runs": R,
    "list_action_jobs": {**R, "run_id": 41},
    "get_job_log_tail": {**R, "job_id": 51},
    "list_wiki_pages": R,
    "get_wiki_page": {**R, "page_name": "Home"},
    "create_issue": {**R, "title": "New bug", "body": "details", "labels": ["bug"]},
    "comment_on_issue": {**R, "number": 1, "body": "me too"},
    "edit_issue": {**R, "number": 1, "title": "Crash on start (config)"},
    "close_issue": {**R, "number": 1},
    "set_issue_assignees": {**R, "number": 1, "assignees": ["carol"]},
    "add_issue_labels": {**R, "number": 1, "labels": ["enhancement"]},
    "remove_issue_label": {**R, "number": 1, "label": "bug"},
    "create_branch": {**R, "name": "topic", "source": "main"},
    "create_or_update_file": {**R, "path": "notes/new.md", "content": "hello\n", "message": "Add notes"},
    "create_pull_request": {**R, "title": "Fix typo", "head": "docs/typo", "base": "main"},
    "review_pull_request": {**R, "number": 3, "event": "APPROVED", "body": "LGTM"},
    "merge_pull_request": {**R, "number": 3},
    "create_release": {**R, "tag": "v1.0.0", "body": "First release"},
    # review, CI, compare, notifications
    "get_commit_status": {**R, "ref": "feature/login"},
    "get_pull_request_status": {**R, "number": 3},
    "compare_refs": {**R, "base": "main", "head": "feature/login"},
    "get_commit_patch": {**R, "sha": "feature/login"},
    "list_pull_request_review_comments": {**R, "number": 3},
    "list_notifications": {},
    "comment_on_pull_request_line": {
        **R,
        "number": 3,
        "path": "src/login.py",
        "line": 2,
        "body": "why True?",
    },
    "request_pull_request_reviewers": {**R, "number": 3, "reviewers": ["bob"]},
    "dispatch_workflow": {**R, "workflow": "deploy.yml", "ref": "main", "inputs": {"env": "staging"}},
    "rerun_action_run": {**R, "run_id": 42, "failed_only": True},
    "cancel_action_run": {**R, "run_id": 43},
    # project tracking and wiki edits
    "set_issue_milestone": {**R, "number": 2, "milestone": "v1.0"},
    "set_issue_due_date": {**R, "number": 1, "due": "2026-02-01"},
    "create_label": {**R, "name": "security", "color": "#b60205", "description": "Security issue"},
    "edit_label": {**R, "name": "bug", "color": "d73a4a"},
    "create_milestone": {**R, "title": "v2.0", "due": "2026-06-30"},
    "edit_milestone": {**R, "title": "v1.0", "state": "closed"},
    "create_wiki_page": {**R, "title": "Runbook", "content": "# Runbook\n"},
    "edit_wiki_page": {**R, "page_name": "Deploy-Guide", "content": "1. Build\n2. Test\n3. Ship\n"},
    # destructive: each needs confirm=true
    "delete_branch": {**R, "branch": "docs/typo", "confirm": True},
    "delete_tag": {**R, "tag": "v0.0.1", "confirm": True},
    "delete_release": {**R, "tag": "v0.1.0", "confirm": True},
    "delete_file": {
        **R,
        "path": "docs/guide.md",
        "sha": GUIDE_SHA,
        "message": "Drop the guide",
        "confirm": True,
    },
    "delete_label": {**R, "name": "enhancement", "confirm": True},
    "delete_milestone": {**R, "title": "v1.0", "confirm": True},
    "delete_wiki_page": {**R, "page_name": "Home", "confirm": True},
}
WRITE_TOOLS = {
    "create_issue", "comment_on_issue", "edit_issue", "close_issue", "set_issue_assignees",
    "add_issue_labels", "remove_issue_label", "create_branch", "create_or_update_file",
    "create_pull_request", "review_pull_request", "merge_pull_request", "create_release",
    "comment_on_pull_request_line", "request_pull_request_reviewers", "dispatch_workflow", "rerun_action_run",
    "cancel_action_run", "set_issue_milestone", "set_issue_due_date", "create_label", "edit_label",
    "create_milestone", "edit_milestone", "create_wiki_page", "edit_wiki_page",
    "delete_branch", "delete_tag", "delete_release", "delete_file", "delete_label", "delete_milestone",
    "delete_wiki_page",
}  # fmt: skip
DESTRUCTIVE_TOOLS = {t for t in WRITE_TOOLS if t.startswith("delete_")} | {
    "create_or_update_file",
    "merge_pull_request",
}
BACKEND_TOOLS = sorted(set(VALID) - {"whoami"})


@dataclass
class Harness:
    fake: FakeGitea
    gitea_url: str
    url: str
    settings: GiteaSettings

    async def call(
        self, tool: str, args: dict[str, Any] | None = None, *, subject: str = "alice", scopes: str = ALL
    ) -> CallToolResult:
        who = identity(subject, scopes, audience=self.settings.public_url)
        with anyio.fail_after(20):
            async with connect(self.url, identity=who) as client:
                return await client.call_tool(tool, args or {})

    async def ok(self, tool: str, args: dict[str, Any] | None = None, **kw: Any) -> Any:
        result = await self.call(tool, args, **kw)
        assert not result.is_error, result.content
        return result.structured_content

    async def error(self, tool: str, args: dict[str, Any] | None = None, **kw: Any) -> str:
        result = await self.call(tool, args, **kw)
        assert result.is_error, result.structured_content
        return text_of(result)

    def since(self, mark: int) -> list[RecordedRequest]:
        return self.fake.requests[mark:]


def gitea_settings(gitea_url: str, **overrides: Any) -> GiteaSettings:
    values: dict[str, Any] = {"url": gitea_url, "token": TOKEN, "timeout_seconds": 5.0}
    values.update(overrides)
    return settings_for(GiteaSettings, name="gitea", **values)


@contextlib.asynccontextmanager
async def mcp_in_front(fake: FakeGitea, gitea_url: str, **overrides: Any) -> AsyncIterator[Harness]:
    """The fleet-gitea MCP server (real HTTP, gateway-secret trust) talking to the Gitea at `gitea_url`."""
    settings = gitea_settings(gitea_url, **overrides)
    client = GiteaClient(
        settings.url,
        settings.token.get_secret_value(),
        timeout=settings.timeout_seconds,
        read_retries=settings.read_retries,
    )
    try:
        async with serve_server(build_server(settings, client), settings) as url:
            yield Harness(fake, gitea_url, url, settings)
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def harness(fake: FakeGitea, **overrides: Any) -> AsyncIterator[Harness]:
    """The fake Gitea over loopback HTTP plus the MCP server in front of it."""
    async with serve_fake(fake) as gitea_url, mcp_in_front(fake, gitea_url, **overrides) as running:
        yield running
