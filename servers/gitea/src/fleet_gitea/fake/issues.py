"""Fake Gitea routes for issues, their comments and their labels."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fleet_core.specfake import FakeRequest

from .state import T0, FakeError, FakeState, FIssue, FRepo, PathParams, Query, Reply


class IssueRoutes(FakeState):
    """Issue routes of `FakeGitea`, with the issue and comment shapes."""

    if TYPE_CHECKING:  # from ReleaseRoutes (labels, milestones) in FakeGitea

        def label(self, repo: FRepo, label_id: int) -> dict[str, Any]: ...
        def milestone(self, repo: FRepo, mid: int) -> dict[str, Any]: ...

    def issue(self, repo: FRepo, i: FIssue) -> dict[str, Any]:
        kind = "pulls" if i.pull else "issues"
        return {
            "id": repo.id * 1000 + i.number,
            "number": i.number,
            "title": i.title,
            "body": i.body,
            "url": f"{self.base_url}/api/v1/repos/{repo.full_name}/issues/{i.number}",
            "html_url": f"{self.base_url}/{repo.full_name}/{kind}/{i.number}",
            "user": self.user(i.user),
            "labels": [self.label(repo, x) for x in i.labels],
            "assignee": self.user(i.assignees[0]) if i.assignees else None,
            "assignees": [self.user(a) for a in i.assignees] or None,
            "state": i.state,
            "is_locked": False,
            "comments": len(i.comments),
            "created_at": T0,
            "updated_at": T0,
            "closed_at": T0 if i.state == "closed" else None,
            "milestone": self.milestone(repo, i.milestone) if i.milestone else None,
            "due_date": i.due_date,
            "pull_request": {
                "merged": i.pull.merged,
                "draft": False,
                "html_url": f"{self.base_url}/{repo.full_name}/pulls/{i.number}",
            }
            if i.pull
            else None,
            "repository": {
                "id": repo.id,
                "name": repo.name,
                "owner": repo.owner,
                "full_name": repo.full_name,
            },
        }

    def comment(self, repo: FRepo, i: FIssue, c: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": c["id"],
            "body": c["body"],
            "user": self.user(c["user"]),
            "created_at": T0,
            "updated_at": T0,
            "html_url": f"{self.base_url}/{repo.full_name}/issues/{i.number}#c{c['id']}",
            "issue_url": f"{self.base_url}/{repo.full_name}/issues/{i.number}",
            "assets": [],
        }

    def _issue(self, repo: FRepo, index: str) -> FIssue:
        issue = repo.issues.get(int(index))
        if issue is None:
            raise FakeError(404, "The target couldn't be found.")
        return issue

    def _filter_issues(self, issues: Iterable[FIssue], q: Query) -> list[FIssue]:
        state, kind, term = q.get("state", "open"), q.get("type"), q.get("q", "").lower()
        out = []
        for i in issues:
            if state != "all" and i.state != state:
                continue
            if (kind == "issues" and i.pull) or (kind == "pulls" and not i.pull):
                continue
            if term and term not in i.title.lower() and term not in i.body.lower():
                continue
            out.append(i)
        return out

    async def op_issueListIssues(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        issues = self._filter_issues(sorted(repo.issues.values(), key=lambda i: -i.number), q)
        if q.get("labels"):
            wanted = set(q["labels"].split(","))
            issues = [i for i in issues if wanted <= {self.label(repo, x)["name"] for x in i.labels}]
        items, headers = self._page(issues, q, req)
        return 200, [self.issue(repo, i) for i in items], headers

    async def op_issueSearchIssues(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        found = []
        for repo in self.repos.values():
            if not self._can_read(actor, repo) or (q.get("owner") and repo.owner != q["owner"]):
                continue
            found += [(repo, i) for i in self._filter_issues(repo.issues.values(), q)]
        items, headers = self._page(found, q, req)
        return 200, [self.issue(r, i) for r, i in items], headers

    async def op_issueGetIssue(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        return 200, self.issue(repo, self._issue(repo, p["index"])), {}

    async def op_issueGetComments(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        issue = self._issue(repo, p["index"])
        return 200, [self.comment(repo, issue, c) for c in issue.comments], {}

    async def op_issueCreateIssue(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        if (body.get("labels") or body.get("assignees") or body.get("milestone")) and not self._can_write(
            actor, repo
        ):
            raise FakeError(403, "labels, assignees and milestones need write access")
        number = max(repo.issues, default=0) + 1
        issue = FIssue(
            number,
            body["title"],
            body.get("body", ""),
            actor,
            labels=list(body.get("labels", [])),
            assignees=list(body.get("assignees", [])),
            milestone=body.get("milestone"),
        )
        for label_id in issue.labels:
            if not any(lb["id"] == label_id for lb in repo.labels):
                raise FakeError(422, f"label does not exist [id: {label_id}]")
        repo.issues[number] = issue
        return 201, self.issue(repo, issue), {}

    async def op_issueEditIssue(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        issue = self._issue(repo, p["index"])
        writer = self._can_write(actor, repo)
        if not writer and actor != issue.user:
            raise FakeError(403, "user is not the poster and has no write access")
        if not writer and ("assignees" in body or "milestone" in body):
            raise FakeError(403, "assignees and milestones need write access")
        if "state" in body and body["state"] not in ("open", "closed"):
            raise FakeError(422, "state must be open or closed")
        if not writer and ("due_date" in body or "unset_due_date" in body):
            raise FakeError(403, "the due date needs write access")
        if body.get("milestone") and not any(x["id"] == body["milestone"] for x in repo.milestones):
            raise FakeError(404, "milestone does not exist")
        for key in ("title", "body", "state", "milestone", "due_date"):
            if key in body:
                setattr(issue, key, body[key])
        if body.get("unset_due_date"):
            issue.due_date = None
        if "assignees" in body:
            missing = [a for a in body["assignees"] if a not in self.users]
            if missing:
                raise FakeError(422, f"user does not exist [name: {missing[0]}]")
            issue.assignees = list(body["assignees"])
        return 201, self.issue(repo, issue), {}

    async def op_issueCreateComment(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        issue = self._issue(repo, p["index"])
        comment = {"id": next(self._ids), "user": actor, "body": body["body"]}
        issue.comments.append(comment)
        return 201, self.comment(repo, issue, comment), {}

    async def op_issueAddLabel(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        issue = self._issue(repo, p["index"])
        for want in (body or {}).get("labels", []):
            label = next((lb for lb in repo.labels if want in (lb["id"], lb["name"])), None)
            if label is None:
                raise FakeError(404, f"label does not exist [name: {want}]")
            if label["id"] not in issue.labels:
                issue.labels.append(label["id"])
        return 200, [self.label(repo, x) for x in issue.labels], {}

    async def op_issueRemoveLabel(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        issue = self._issue(repo, p["index"])
        if int(p["id"]) not in issue.labels:
            raise FakeError(404, "label not on this issue")
        issue.labels.remove(int(p["id"]))
        return 204, None, {}
