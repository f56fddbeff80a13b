"""Fake Gitea routes for pull requests: listing, files, diff, reviews, create and merge."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fleet_core.specfake import FakeRequest

from .state import T0, FakeError, FakeState, FIssue, FPull, FRepo, PathParams, Query, Reply


class PullRoutes(FakeState):
    """Pull request routes of `FakeGitea`, with the pull, file, diff and review shapes."""

    if TYPE_CHECKING:  # a pull is an issue: these come from IssueRoutes in FakeGitea

        def issue(self, repo: FRepo, i: FIssue) -> dict[str, Any]: ...
        def _filter_issues(self, issues: Iterable[FIssue], q: Query) -> list[FIssue]: ...

    def pull(self, repo: FRepo, i: FIssue) -> dict[str, Any]:
        assert i.pull is not None
        files = self._pull_files(repo, i)
        branch = {"repo_id": repo.id}
        return {
            **{k: v for k, v in self.issue(repo, i).items() if k not in ("pull_request", "repository")},
            "html_url": f"{self.base_url}/{repo.full_name}/pulls/{i.number}",
            "diff_url": f"{self.base_url}/{repo.full_name}/pulls/{i.number}.diff",
            "patch_url": f"{self.base_url}/{repo.full_name}/pulls/{i.number}.patch",
            "draft": False,
            "mergeable": not i.pull.merged,
            "merged": i.pull.merged,
            "merged_at": T0 if i.pull.merged else None,
            "merged_by": self.user(i.pull.merged_by) if i.pull.merged_by else None,
            "head": {
                **branch,
                "label": i.pull.head,
                "ref": i.pull.head,
                "sha": repo.branches.get(i.pull.head, ""),
            },
            "base": {**branch, "label": i.pull.base, "ref": i.pull.base, "sha": repo.branches[i.pull.base]},
            "additions": sum(f["additions"] for f in files),
            "deletions": sum(f["deletions"] for f in files),
            "changed_files": len(files),
            "review_comments": 0,
            "allow_maintainer_edit": False,
            "requested_reviewers": [],
            "merge_base": repo.branches[i.pull.base],
        }

    def _pull_files(self, repo: FRepo, i: FIssue) -> list[dict[str, Any]]:
        assert i.pull is not None
        base = repo.commits[repo.branches[i.pull.base]].tree
        head = repo.commits[repo.branches.get(i.pull.head, repo.branches[i.pull.base])].tree
        out = []
        for path in sorted(set(base) | set(head)):
            old, new = base.get(path), head.get(path)
            if old == new:
                continue
            adds, dels = len((new or b"").splitlines()), len((old or b"").splitlines())
            status = "added" if old is None else "deleted" if new is None else "changed"
            out.append(
                {
                    "filename": path,
                    "status": status,
                    "additions": adds,
                    "deletions": dels,
                    "changes": adds + dels,
                    "html_url": f"{self.base_url}/{repo.full_name}/src/branch/{i.pull.head}/{path}",
                    "raw_url": f"{self.base_url}/{repo.full_name}/raw/branch/{i.pull.head}/{path}",
                    "contents_url": f"{self.base_url}/api/v1/repos/{repo.full_name}/contents/{path}",
                }
            )
        return out

    def _pull_diff(self, repo: FRepo, i: FIssue) -> str:
        assert i.pull is not None
        base = repo.commits[repo.branches[i.pull.base]].tree
        head = repo.commits[repo.branches.get(i.pull.head, repo.branches[i.pull.base])].tree
        chunks = []
        for f in self._pull_files(repo, i):
            path = f["filename"]
            old = base.get(path, b"").decode(errors="replace").splitlines()
            new = head.get(path, b"").decode(errors="replace").splitlines()
            body = "".join(f"-{x}\n" for x in old) + "".join(f"+{x}\n" for x in new)
            chunks.append(
                f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
                f"@@ -1,{len(old)} +1,{len(new)} @@\n{body}"
            )
        return "".join(chunks)

    def review(self, repo: FRepo, i: FIssue, r: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": r["id"],
            "user": self.user(r["user"]),
            "state": r["state"],
            "body": r["body"],
            "commit_id": repo.branches.get(i.pull.head if i.pull else "main", ""),
            "stale": False,
            "official": True,
            "dismissed": False,
            "comments_count": len(r.get("comments", [])),
            "submitted_at": T0,
            "updated_at": T0,
            "html_url": f"{self.base_url}/{repo.full_name}/pulls/{i.number}#r{r['id']}",
            "pull_request_url": f"{self.base_url}/{repo.full_name}/pulls/{i.number}",
        }

    def _pull(self, repo: FRepo, index: str) -> FIssue:
        issue = repo.issues.get(int(index))
        if issue is None or issue.pull is None:
            raise FakeError(404, "The target couldn't be found.")
        return issue

    async def op_repoListPullRequests(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        pulls = self._filter_issues(
            sorted(repo.issues.values(), key=lambda i: -i.number), {**q, "type": "pulls"}
        )
        items, headers = self._page(pulls, q, req)
        return 200, [self.pull(repo, i) for i in items], headers

    async def op_repoGetPullRequest(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        return 200, self.pull(repo, self._pull(repo, p["index"])), {}

    async def op_repoDownloadPullDiffOrPatch(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        return 200, self._pull_diff(repo, self._pull(repo, p["index"])), {}

    async def op_repoGetPullRequestFiles(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        items, headers = self._page(self._pull_files(repo, self._pull(repo, p["index"])), q, req)
        return 200, items, headers

    async def op_repoListPullReviews(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        issue = self._pull(repo, p["index"])
        assert issue.pull is not None
        items, headers = self._page(issue.pull.reviews, q, req)
        return 200, [self.review(repo, issue, r) for r in items], headers

    async def op_repoCreatePullRequest(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        for key in ("head", "base", "title"):
            if not body.get(key):
                raise FakeError(422, f"{key} is required")
        if body["head"] not in repo.branches or body["base"] not in repo.branches:
            raise FakeError(404, "head or base branch does not exist")
        if any(
            i.pull and i.state == "open" and (i.pull.head, i.pull.base) == (body["head"], body["base"])
            for i in repo.issues.values()
        ):
            raise FakeError(409, "pull request already exists for these targets")
        number = max(repo.issues, default=0) + 1
        repo.issues[number] = FIssue(
            number, body["title"], body.get("body", ""), actor, pull=FPull(body["head"], body["base"])
        )
        return 201, self.pull(repo, repo.issues[number]), {}

    async def op_repoCreatePullReview(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        issue = self._pull(repo, p["index"])
        assert issue.pull is not None
        if body.get("event") in ("APPROVED", "REQUEST_CHANGES") and actor == issue.user:
            raise FakeError(422, "approve your own pull is not allowed")
        tree = repo.commits[repo.branches[issue.pull.head]].tree
        comments = []
        for c in body.get("comments") or []:
            if c.get("path") not in tree:
                raise FakeError(422, f"file {c.get('path')} is not in the pull request")
            comments.append({"id": next(self._ids), **c})
        review = {
            "id": next(self._ids),
            "user": actor,
            "state": body.get("event") or "PENDING",
            "body": body.get("body", ""),
            "comments": comments,
        }
        issue.pull.reviews.append(review)
        return 200, self.review(repo, issue, review), {}

    async def op_repoMergePullRequest(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        issue = self._pull(repo, p["index"])
        assert issue.pull is not None
        if issue.pull.merged or issue.state == "closed":
            raise FakeError(405, "The PR is already merged or closed")
        head = repo.branches[issue.pull.head]
        if body.get("head_commit_id") and body["head_commit_id"] != head:
            raise FakeError(409, "head out of date")
        repo.branches[issue.pull.base] = head
        issue.pull.merged, issue.pull.merged_by, issue.state = True, actor, "closed"
        if body.get("delete_branch_after_merge"):
            repo.branches.pop(issue.pull.head, None)
        return 200, None, {}
