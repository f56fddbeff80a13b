"""Project tracking and review: line-level review comments (read and write), review requests, an
issue's milestone and due date, label and milestone management, notifications, wiki edits.
Mixed into GiteaOps."""

from __future__ import annotations

import base64
from typing import Any

from fleet_core import ToolError

from . import models as m
from .backend import GiteaClient, repo_path
from .convert import _listing, _login, cap, issue_summary, review, wiki_segment

MAX_PAGES = 10


def label(lb: dict[str, Any]) -> m.Label:
    return m.Label(
        id=lb["id"], name=lb["name"], color=lb.get("color", ""), description=lb.get("description", "")
    )


def milestone(x: dict[str, Any]) -> m.Milestone:
    return m.Milestone(
        id=x["id"],
        title=x["title"],
        state=x.get("state", ""),
        open_issues=x.get("open_issues", 0),
        closed_issues=x.get("closed_issues", 0),
        due_on=x.get("due_on"),
    )


def review_comment(c: dict[str, Any]) -> m.ReviewComment:
    # Gitea puts the new-side line in `position` and the old-side line in `original_position`.
    position, original = c.get("position") or None, c.get("original_position") or None
    return m.ReviewComment(
        id=c["id"],
        review_id=c.get("pull_request_review_id", 0),
        author=_login(c.get("user")),
        path=c.get("path", ""),
        line=position,
        old_line=None if position else original,
        body=cap(c.get("body"), 4000),
        diff_hunk=cap(c.get("diff_hunk"), 2000),
        resolved_by=_login(c.get("resolver")) or None,
        html_url=c.get("html_url", ""),
    )


class TrackingOps:
    """Mixed into `GiteaOps`, which provides `gitea`."""

    gitea: GiteaClient

    async def _find(
        self, user: str, owner: str, repo: str, kind: str, key: str, value: str
    ) -> dict[str, Any]:
        """A label (by name) or milestone (by title), walking pages; a clear error when it is missing."""
        page: int | None = 1
        params: dict[str, Any] = {"limit": 50, **({"state": "all"} if kind == "milestones" else {})}
        while page is not None and page <= MAX_PAGES:
            p = await self.gitea.get_page(repo_path(owner, repo, kind), user, {**params, "page": page})
            found = next((x for x in p.items if isinstance(x, dict) and x.get(key) == value), None)
            if found is not None:
                return found
            page = p.next_page
        raise ToolError(f"no {kind[:-1]} {value!r} in {owner}/{repo} (see list_{kind})")

    # ---------------------------------------------------------------- review comments
    async def list_review_comments(
        self, user: str, owner: str, repo: str, number: int, review_id: int | None
    ) -> list[m.ReviewComment]:
        pulls = repo_path(owner, repo, "pulls", str(number), "reviews")
        if review_id is not None:
            ids = [review_id]
        else:
            reviews = await self.gitea.get_page(pulls, user, {"limit": 50})
            ids = [r["id"] for r in reviews.items if isinstance(r, dict) and r.get("comments_count")]
        out: list[m.ReviewComment] = []
        for rid in ids[:20]:
            comments = await self.gitea.get_json(f"{pulls}/{rid}/comments", user)
            out += [review_comment(c) for c in comments or [] if isinstance(c, dict)]
        return out

    async def comment_on_line(
        self, user: str, owner: str, repo: str, number: int, path: str, line: int, side: str, body: str
    ) -> m.Review:
        where = {"new_position": line} if side == "new" else {"old_position": line}
        payload = {"event": "COMMENT", "body": "", "comments": [{"path": path, "body": body, **where}]}
        created = await self.gitea.write(
            "POST", repo_path(owner, repo, "pulls", str(number), "reviews"), user, payload
        )
        return review(created)

    async def request_reviewers(
        self, user: str, owner: str, repo: str, number: int, reviewers: list[str], teams: list[str]
    ) -> list[m.Review]:
        payload: dict[str, Any] = {"reviewers": reviewers, **({"team_reviewers": teams} if teams else {})}
        path = repo_path(owner, repo, "pulls", str(number), "requested_reviewers")
        created = await self.gitea.write("POST", path, user, payload)
        return [review(r) for r in created or [] if isinstance(r, dict)]

    # ---------------------------------------------------------------- issue fields
    async def set_issue_milestone(
        self, user: str, owner: str, repo: str, number: int, title: str | None
    ) -> m.IssueSummary:
        mid = (
            0 if title is None else (await self._find(user, owner, repo, "milestones", "title", title))["id"]
        )
        return await self._patch_issue(user, owner, repo, number, {"milestone": mid})

    async def set_issue_due_date(
        self, user: str, owner: str, repo: str, number: int, due: str | None
    ) -> m.IssueSummary:
        change: dict[str, Any] = {"unset_due_date": True} if due is None else {"due_date": f"{due}T23:59:59Z"}
        return await self._patch_issue(user, owner, repo, number, change)

    async def _patch_issue(
        self, user: str, owner: str, repo: str, number: int, change: dict[str, Any]
    ) -> m.IssueSummary:
        issue = await self.gitea.write("PATCH", repo_path(owner, repo, "issues", str(number)), user, change)
        return issue_summary({"repository": {"full_name": f"{owner}/{repo}"}, **issue})

    # ---------------------------------------------------------------- labels and milestones
    async def create_label(
        self, user: str, owner: str, repo: str, name: str, color: str, description: str
    ) -> m.Label:
        body = {"name": name, "color": color, "description": description}
        return label(await self.gitea.write("POST", repo_path(owner, repo, "labels"), user, body))

    async def edit_label(
        self, user: str, owner: str, repo: str, name: str, change: dict[str, Any]
    ) -> m.Label:
        found = await self._find(user, owner, repo, "labels", "name", name)
        body = {k: v for k, v in change.items() if v is not None}
        path = repo_path(owner, repo, "labels", str(found["id"]))
        return label(await self.gitea.write("PATCH", path, user, body))

    async def create_milestone(
        self, user: str, owner: str, repo: str, title: str, description: str, due: str | None
    ) -> m.Milestone:
        body: dict[str, Any] = {"title": title, "description": description}
        if due:
            body["due_on"] = f"{due}T23:59:59Z"
        return milestone(await self.gitea.write("POST", repo_path(owner, repo, "milestones"), user, body))

    async def edit_milestone(
        self, user: str, owner: str, repo: str, title: str, change: dict[str, Any]
    ) -> m.Milestone:
        found = await self._find(user, owner, repo, "milestones", "title", title)
        body = {k: v for k, v in change.items() if v is not None}
        if "due_on" in body:
            body["due_on"] = f"{body['due_on']}T23:59:59Z"
        path = repo_path(owner, repo, "milestones", str(found["id"]))
        return milestone(await self.gitea.write("PATCH", path, user, body))

    # ---------------------------------------------------------------- notifications
    async def list_notifications(
        self, user: str, include_read: bool, page: int, limit: int
    ) -> m.Listing[m.Notification]:
        params = {"all": include_read, "page": page, "limit": limit}
        p = await self.gitea.get_page("/notifications", user, params)
        return _listing(
            p,
            lambda n: m.Notification(
                id=n["id"],
                repository=(n.get("repository") or {}).get("full_name", ""),
                type=(n.get("subject") or {}).get("type", ""),
                title=cap((n.get("subject") or {}).get("title"), 300),
                state=(n.get("subject") or {}).get("state", ""),
                unread=n.get("unread", False),
                updated_at=n.get("updated_at", ""),
                html_url=(n.get("subject") or {}).get("html_url", ""),
            ),
        )

    # ---------------------------------------------------------------- wiki edits
    async def write_wiki_page(
        self,
        user: str,
        owner: str,
        repo: str,
        page_name: str | None,
        title: str,
        content: str,
        message: str | None,
    ) -> m.WikiPageSummary:
        body: dict[str, Any] = {"title": title, "content_base64": base64.b64encode(content.encode()).decode()}
        if message:
            body["message"] = message
        if page_name is None:
            w = await self.gitea.write("POST", repo_path(owner, repo, "wiki", "new"), user, body)
        else:
            path = repo_path(owner, repo, "wiki", "page", wiki_segment(page_name))
            w = await self.gitea.write("PATCH", path, user, body)
        return m.WikiPageSummary(
            title=w.get("title", title),
            page_name=w.get("sub_url", ""),
            last_commit=((w.get("last_commit") or {}).get("message") or "").split("\n", 1)[0],
        )
