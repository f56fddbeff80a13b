"""Fake Gitea routes for reviewing a change: line-level review comments, review requests, commit
statuses, comparing refs, a commit's patch, and notifications."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleet_core.specfake import FakeRequest

from .state import T0, FakeError, FakeState, FCommit, FIssue, FRepo, PathParams, Query, Reply


class ReviewRoutes(FakeState):
    """Review, status, compare and notification routes of `FakeGitea`."""

    if TYPE_CHECKING:  # from the other route mixins in FakeGitea

        def commit(self, repo: FRepo, c: FCommit, *, files: bool = True) -> dict[str, Any]: ...
        def repo(self, repo: FRepo, actor: str) -> dict[str, Any]: ...
        def review(self, repo: FRepo, i: FIssue, r: dict[str, Any]) -> dict[str, Any]: ...
        def _pull(self, repo: FRepo, index: str) -> FIssue: ...
        def _history(self, repo: FRepo, ref: str) -> list[FCommit]: ...

    def review_comment(
        self, repo: FRepo, i: FIssue, review: dict[str, Any], c: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "id": c["id"],
            "body": c["body"],
            "path": c["path"],
            # a comment on a removed line has position 0 and the old line in original_position
            "position": c.get("new_position", 0),
            "original_position": c.get("old_position", 0),
            "commit_id": repo.branches.get(i.pull.head if i.pull else "main", ""),
            "original_commit_id": "",
            "diff_hunk": f"@@ -1,1 +1,1 @@\n+{c['path']}",
            "user": self.user(review["user"]),
            "pull_request_review_id": review["id"],
            "created_at": T0,
            "updated_at": T0,
            "html_url": f"{self.base_url}/{repo.full_name}/pulls/{i.number}#issuecomment-{c['id']}",
            "pull_request_url": f"{self.base_url}/{repo.full_name}/pulls/{i.number}",
        }

    async def op_repoGetPullReviewComments(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        issue = self._pull(repo, p["index"])
        assert issue.pull is not None
        review = next((r for r in issue.pull.reviews if r["id"] == int(p["id"])), None)
        if review is None:
            raise FakeError(404, "review does not exist")
        return 200, [self.review_comment(repo, issue, review, c) for c in review.get("comments", [])], {}

    async def op_repoCreatePullReviewRequests(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        issue = self._pull(repo, p["index"])
        assert issue.pull is not None
        created = []
        for login in body.get("reviewers") or []:
            if login not in self.users:
                raise FakeError(422, f"user does not exist [name: {login}]")
            review = {"id": next(self._ids), "user": login, "state": "REQUEST_REVIEW", "body": ""}
            issue.pull.reviews.append(review)
            created.append(self.review(repo, issue, review))
        return 201, created, {}

    async def op_repoGetCombinedStatusByRef(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        sha = repo.branches.get(p["ref"]) or repo.tags.get(p["ref"]) or p["ref"]
        if sha not in repo.commits:
            raise FakeError(404, f"object does not exist [id: {p['ref']}]")
        statuses = repo.statuses.get(sha, [])
        states = {s["status"] for s in statuses}
        # With no statuses Gitea sends a zero CombinedStatus; `state` is then left out here (it is not
        # required, and "" is outside the spec's enum) — a shape the tools must survive.
        combined = next((s for s in ("error", "failure", "pending", "warning") if s in states), None)
        combined = combined or ("success" if states else None)
        api = f"{self.base_url}/api/v1/repos/{repo.full_name}"
        return (
            200,
            {
                "sha": sha,
                "state": combined,
                "total_count": len(statuses),
                "commit_url": f"{api}/commits/{sha}",
                "url": f"{api}/commits/{sha}/status",
                "repository": self.repo(repo, actor),
                "statuses": [
                    {
                        "id": n + 1,
                        **s,
                        "target_url": f"{self.base_url}/{repo.full_name}/actions",
                        "url": f"{api}/statuses/{sha}",
                        "created_at": T0,
                        "updated_at": T0,
                        "creator": self.user(repo.owner),
                    }
                    for n, s in enumerate(statuses)
                ],
            },
            {},
        )

    async def op_repoCompareDiff(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        base, sep, head = p["basehead"].partition("...")
        if not sep:
            raise FakeError(422, "basehead must be base...head")
        behind = {c.sha for c in self._history(repo, base)}
        commits = [c for c in reversed(self._history(repo, head)) if c.sha not in behind]
        return 200, {"total_commits": len(commits), "commits": [self.commit(repo, c) for c in commits]}, {}

    async def op_repoDownloadCommitDiffOrPatch(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        c = repo.commits.get(repo.branches.get(p["sha"], p["sha"]))
        if c is None:
            raise FakeError(404, "commit not found")
        parent = repo.commits[c.parents[0]].tree if c.parents else {}
        diff = ""
        for path, _status in c.changed:
            old = parent.get(path, b"").decode(errors="replace").splitlines()
            new = c.tree.get(path, b"").decode(errors="replace").splitlines()
            lines = "".join(f"-{x}\n" for x in old) + "".join(f"+{x}\n" for x in new)
            diff += f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
            diff += f"@@ -1,{len(old)} +1,{len(new)} @@\n{lines}"
        header = (
            f"From {c.sha} Mon Sep 17 00:00:00 2001\nFrom: {c.author.title()} <{c.author}@example.test>\n"
        )
        return 200, f"{header}Subject: [PATCH] {c.message}\n\n---\n{diff}", {}

    async def op_notifyGetList(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        threads = []
        for repo in self.repos.values():
            if not self._can_read(actor, repo):
                continue
            for i in sorted(repo.issues.values(), key=lambda i: -i.number):
                if actor not in (i.user, *i.assignees):
                    continue
                unread = i.state == "open"
                if q.get("all") != "true" and not unread:
                    continue
                kind = "Pull" if i.pull else "Issue"
                threads.append(
                    {
                        "id": repo.id * 1000 + i.number,
                        "repository": self.repo(repo, actor),
                        "subject": {
                            "title": i.title,
                            "type": kind,
                            "state": i.state,
                            "url": f"{self.base_url}/api/v1/repos/{repo.full_name}/issues/{i.number}",
                            "html_url": f"{self.base_url}/{repo.full_name}/{kind.lower()}s/{i.number}",
                        },
                        "unread": unread,
                        "pinned": False,
                        "updated_at": T0,
                        "url": f"{self.base_url}/api/v1/notifications/threads/{repo.id * 1000 + i.number}",
                    }
                )
        items, headers = self._page(threads, q, req)
        return 200, items, headers
