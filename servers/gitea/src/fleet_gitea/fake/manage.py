"""Fake Gitea routes that manage a repository: labels, milestones, wiki edits, and the deletes of
branches, tags, releases and files. Every one needs write access (owner or write collaborator)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from fleet_core.specfake import FakeRequest

from .state import FakeError, FakeState, FRepo, PathParams, Query, Reply, blob_sha


class ManageRoutes(FakeState):
    """Label, milestone, wiki-edit and delete routes of `FakeGitea`."""

    if TYPE_CHECKING:  # from the other route mixins in FakeGitea

        def label(self, repo: FRepo, label_id: int) -> dict[str, Any]: ...
        def milestone(self, repo: FRepo, mid: int) -> dict[str, Any]: ...
        def _wiki_meta(self, repo: FRepo, name: str) -> dict[str, Any]: ...

    # ---------------------------------------------------------------- labels
    def _label_of(self, repo: FRepo, label_id: str) -> dict[str, Any]:
        found = next((lb for lb in repo.labels if lb["id"] == int(label_id)), None)
        if found is None:
            raise FakeError(404, "label does not exist")
        return found

    async def op_issueCreateLabel(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        if any(lb["name"] == body["name"] for lb in repo.labels):
            raise FakeError(422, f"label already exists [name: {body['name']}]")
        label = {"id": next(self._ids), "name": body["name"], "color": body["color"].lstrip("#"),
                 "description": body.get("description", "")}  # fmt: skip
        repo.labels.append(label)
        return 201, self.label(repo, label["id"]), {}

    async def op_issueEditLabel(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        label = self._label_of(repo, p["id"])
        label.update({k: v for k, v in body.items() if k in ("name", "color", "description")})
        return 200, self.label(repo, label["id"]), {}

    async def op_issueDeleteLabel(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        label = self._label_of(repo, p["id"])
        repo.labels.remove(label)
        for issue in repo.issues.values():
            issue.labels = [x for x in issue.labels if x != label["id"]]
        return 204, None, {}

    # ---------------------------------------------------------------- milestones
    def _milestone_of(self, repo: FRepo, mid: str) -> dict[str, Any]:
        found = next((x for x in repo.milestones if x["id"] == int(mid)), None)
        if found is None:
            raise FakeError(404, "milestone does not exist")
        return found

    async def op_issueCreateMilestone(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        milestone = {
            "id": next(self._ids),
            "title": body["title"],
            "description": body.get("description", ""),
            "state": body.get("state", "open"),
            "open_issues": 0,
            "closed_issues": 0,
            "due_on": body.get("due_on"),
        }
        repo.milestones.append(milestone)
        return 201, self.milestone(repo, milestone["id"]), {}

    async def op_issueEditMilestone(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        milestone = self._milestone_of(repo, p["id"])
        milestone.update({k: v for k, v in body.items() if k in ("title", "description", "state", "due_on")})
        return 200, self.milestone(repo, milestone["id"]), {}

    async def op_issueDeleteMilestone(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        milestone = self._milestone_of(repo, p["id"])
        repo.milestones.remove(milestone)
        for issue in repo.issues.values():
            if issue.milestone == milestone["id"]:
                issue.milestone = None
        return 204, None, {}

    # ---------------------------------------------------------------- wiki edits
    def _wiki_body(self, body: Any) -> str:
        try:
            return base64.b64decode(body.get("content_base64") or "", validate=True).decode()
        except ValueError as e:
            raise FakeError(400, "content_base64 is not valid base64") from e

    async def op_repoCreateWikiPage(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        name = (body.get("title") or "").strip().replace(" ", "-")
        if not name:
            raise FakeError(400, "title is required")
        if name in repo.wiki:
            raise FakeError(409, "wiki page already exists")
        repo.wiki[name] = self._wiki_body(body)
        return 201, {**self._wiki_meta(repo, name), "commit_count": 1, "footer": "", "sidebar": ""}, {}

    async def op_repoEditWikiPage(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        old = p["pageName"].replace(" ", "-")
        if old not in repo.wiki:
            raise FakeError(404, "wiki page does not exist")
        new = (body.get("title") or old).strip().replace(" ", "-")
        del repo.wiki[old]
        repo.odd_wiki_base64.pop(old, None)
        repo.wiki[new] = self._wiki_body(body)
        return 200, {**self._wiki_meta(repo, new), "commit_count": 2, "footer": "", "sidebar": ""}, {}

    async def op_repoDeleteWikiPage(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        name = p["pageName"].replace(" ", "-")
        if repo.wiki.pop(name, None) is None:
            raise FakeError(404, "wiki page does not exist")
        return 204, None, {}

    # ---------------------------------------------------------------- deletes
    async def op_repoDeleteBranch(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        if p["branch"] not in repo.branches:
            raise FakeError(404, "branch does not exist")
        if p["branch"] == repo.default_branch:
            raise FakeError(403, "the default branch cannot be deleted")
        del repo.branches[p["branch"]]
        return 204, None, {}

    async def op_repoDeleteTag(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        if any(r["tag_name"] == p["tag"] for r in repo.releases):
            raise FakeError(409, "a release uses this tag: delete the release first")
        if repo.tags.pop(p["tag"], None) is None:
            raise FakeError(404, "tag does not exist")
        return 204, None, {}

    async def op_repoDeleteReleaseByTag(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        release = next((r for r in repo.releases if r["tag_name"] == p["tag"]), None)
        if release is None:
            raise FakeError(404, "release does not exist")
        repo.releases.remove(release)
        repo.tags[p["tag"]] = repo.branches[repo.default_branch]  # the tag stays
        return 204, None, {}

    async def op_repoDeleteFile(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        branch = body.get("branch") or repo.default_branch
        if branch not in repo.branches:
            raise FakeError(404, f"branch does not exist [name: {branch}]")
        path = p["filepath"].strip("/")
        tree = repo.commits[repo.branches[branch]].tree
        if path not in tree:
            raise FakeError(404, f"object does not exist [id: , rel_path: {path}]")
        if blob_sha(tree[path]) != body["sha"]:
            raise FakeError(
                422, f"sha does not match [given: {body['sha']}, expected: {blob_sha(tree[path])}]"
            )
        message = body.get("message") or f"Delete {path}"
        sha = self._commit(repo, branch, message, actor, {path: None})
        commit = self._file_commit(repo, sha, actor)
        return 200, {"commit": commit, "content": None}, {}
