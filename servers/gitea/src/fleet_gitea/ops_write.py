"""The write operations of `GiteaOps` (ops.py), one per tool in tools_write.py."""

from __future__ import annotations

import base64
from typing import Any

from fleet_core import ToolError

from . import models as m
from .backend import GiteaClient, file_path, repo_path
from .convert import _title, comment, issue_summary, pull_summary, release, review

MAX_LABEL_PAGES = 10


class WriteOps:
    """Mixed into `GiteaOps`, which provides `gitea`."""

    gitea: GiteaClient

    # ---------------------------------------------------------------- writes
    async def create_issue(
        self,
        user: str,
        owner: str,
        repo: str,
        title: str,
        body: str,
        labels: list[str] | None,
        assignees: list[str] | None,
    ) -> m.IssueSummary:
        payload: dict[str, Any] = {"title": title, "body": body}
        if labels:
            payload["labels"] = await self._label_ids(user, owner, repo, labels)
        if assignees:
            payload["assignees"] = assignees
        issue = await self.gitea.write("POST", repo_path(owner, repo, "issues"), user, payload)
        return issue_summary({"repository": {"full_name": f"{owner}/{repo}"}, **issue})

    async def _label_ids(self, user: str, owner: str, repo: str, names: list[str]) -> list[int]:
        known: dict[str, int] = {}
        next_page: int | None = 1
        while next_page is not None and next_page <= MAX_LABEL_PAGES:
            page = await self.gitea.get_page(
                repo_path(owner, repo, "labels"), user, {"page": next_page, "limit": 50}
            )
            known |= {lb["name"]: lb["id"] for lb in page.items}
            next_page = page.next_page
        missing = [n for n in names if n not in known]
        if missing:
            raise ToolError(f"no such label(s) in {owner}/{repo}: {', '.join(missing)} (see list_labels)")
        return [known[n] for n in names]

    async def comment_on_issue(self, user: str, owner: str, repo: str, number: int, body: str) -> m.Comment:
        path = repo_path(owner, repo, "issues", str(number), "comments")
        return comment(await self.gitea.write("POST", path, user, {"body": body}))

    async def edit_issue(
        self, user: str, owner: str, repo: str, number: int, changes: dict[str, Any]
    ) -> m.IssueSummary:
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            raise ToolError("nothing to change: pass at least one of title, body, state, assignees")
        issue = await self.gitea.write("PATCH", repo_path(owner, repo, "issues", str(number)), user, changes)
        return issue_summary({"repository": {"full_name": f"{owner}/{repo}"}, **issue})

    async def add_issue_labels(
        self, user: str, owner: str, repo: str, number: int, labels: list[str]
    ) -> m.IssueLabels:
        ids = await self._label_ids(user, owner, repo, labels)
        path = repo_path(owner, repo, "issues", str(number), "labels")
        result = await self.gitea.write("POST", path, user, {"labels": ids})
        return m.IssueLabels(number=number, labels=[lb["name"] for lb in result or []])

    async def remove_issue_label(
        self, user: str, owner: str, repo: str, number: int, label: str
    ) -> m.IssueLabels:
        (label_id,) = await self._label_ids(user, owner, repo, [label])
        await self.gitea.write(
            "DELETE", repo_path(owner, repo, "issues", str(number), "labels", str(label_id)), user
        )
        issue = await self.gitea.get_json(repo_path(owner, repo, "issues", str(number)), user)
        return m.IssueLabels(number=number, labels=[lb["name"] for lb in issue.get("labels") or []])

    async def create_branch(self, user: str, owner: str, repo: str, name: str, source: str) -> m.Branch:
        body = {"new_branch_name": name, "old_ref_name": source}
        b = await self.gitea.write("POST", repo_path(owner, repo, "branches"), user, body)
        return m.Branch(
            name=b["name"],
            commit_sha=(b.get("commit") or {}).get("id", ""),
            commit_title=_title((b.get("commit") or {}).get("message", "")),
            protected=b.get("protected", False),
            can_push=b.get("user_can_push", False),
        )

    async def create_or_update_file(
        self,
        user: str,
        owner: str,
        repo: str,
        path: str,
        content: str,
        message: str,
        branch: str | None,
        new_branch: str | None,
        sha: str | None,
    ) -> m.FileWrite:
        body: dict[str, Any] = {"content": base64.b64encode(content.encode()).decode(), "message": message}
        if branch:
            body["branch"] = branch
        if new_branch:
            body["new_branch"] = new_branch
        target = repo_path(owner, repo, "contents", file_path(path))
        if sha:
            body["sha"] = sha
            result = await self.gitea.write("PUT", target, user, body)
        else:
            result = await self.gitea.write("POST", target, user, body)
        content_info, commit = result.get("content") or {}, result.get("commit") or {}
        return m.FileWrite(
            path=content_info.get("path", path),
            branch=new_branch or branch or "(default branch)",
            commit_sha=commit.get("sha", ""),
            sha=content_info.get("sha", ""),
            html_url=commit.get("html_url", ""),
        )

    async def create_pull_request(
        self, user: str, owner: str, repo: str, title: str, head: str, base: str, body: str
    ) -> m.PullSummary:
        payload = {"title": title, "head": head, "base": base, "body": body}
        return pull_summary(await self.gitea.write("POST", repo_path(owner, repo, "pulls"), user, payload))

    async def review_pull_request(
        self, user: str, owner: str, repo: str, number: int, event: str, body: str
    ) -> m.Review:
        path = repo_path(owner, repo, "pulls", str(number), "reviews")
        return review(await self.gitea.write("POST", path, user, {"event": event, "body": body}))

    async def merge_pull_request(
        self,
        user: str,
        owner: str,
        repo: str,
        number: int,
        method: str,
        message: str | None,
        expected_head_sha: str | None,
        delete_branch: bool,
    ) -> m.MergeResult:
        body: dict[str, Any] = {"do": method, "delete_branch_after_merge": delete_branch}
        if message:
            body["merge_message_field"] = message
        if expected_head_sha:
            body["head_commit_id"] = expected_head_sha
        await self.gitea.write("POST", repo_path(owner, repo, "pulls", str(number), "merge"), user, body)
        p = await self.gitea.get_json(repo_path(owner, repo, "pulls", str(number)), user)
        return m.MergeResult(
            number=number,
            merged=p.get("merged", False),
            method=method,
            base=(p.get("base") or {}).get("ref", ""),
        )

    async def create_release(
        self,
        user: str,
        owner: str,
        repo: str,
        tag: str,
        target: str | None,
        name: str,
        body: str,
        draft: bool,
        prerelease: bool,
    ) -> m.Release:
        payload: dict[str, Any] = {
            "tag_name": tag,
            "name": name or tag,
            "body": body,
            "draft": draft,
            "prerelease": prerelease,
        }
        if target:
            payload["target_commitish"] = target
        return release(await self.gitea.write("POST", repo_path(owner, repo, "releases"), user, payload))
