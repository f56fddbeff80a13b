"""Fake Gitea routes for releases, labels and milestones."""

from __future__ import annotations

from typing import Any

from fleet_core.specfake import FakeRequest

from .state import T0, FakeError, FakeState, FRepo, PathParams, Query, Reply


class ReleaseRoutes(FakeState):
    """Release, label and milestone routes of `FakeGitea`, with their shapes."""

    def label(self, repo: FRepo, label_id: int) -> dict[str, Any]:
        raw = next(lb for lb in repo.labels if lb["id"] == label_id)
        return {
            **raw,
            "exclusive": False,
            "is_archived": False,
            "url": f"{self.base_url}/api/v1/repos/{repo.full_name}/labels/{label_id}",
        }

    def milestone(self, repo: FRepo, mid: int) -> dict[str, Any]:
        raw = next(m for m in repo.milestones if m["id"] == mid)
        return {**raw, "created_at": T0, "updated_at": T0}

    def release(self, repo: FRepo, r: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/{repo.full_name}/releases/tag/{r['tag_name']}"
        return {
            **{k: v for k, v in r.items() if k != "author"},
            "author": self.user(r["author"]),
            "url": f"{self.base_url}/api/v1/repos/{repo.full_name}/releases/{r['id']}",
            "html_url": url,
            "tarball_url": f"{url}.tar.gz",
            "zipball_url": f"{url}.zip",
            "upload_url": url,
            "created_at": T0,
            "published_at": T0,
            "assets": [],
        }

    async def op_repoListReleases(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        items, headers = self._page(list(reversed(repo.releases)), q, req)
        return 200, [self.release(repo, r) for r in items], headers

    async def op_repoCreateRelease(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        if any(r["tag_name"] == body["tag_name"] for r in repo.releases):
            raise FakeError(409, f"Release is has no Tag [tag: {body['tag_name']}] already exists")
        release = {
            "id": next(self._ids),
            "tag_name": body["tag_name"],
            "name": body.get("name", ""),
            "body": body.get("body", ""),
            "draft": body.get("draft", False),
            "prerelease": body.get("prerelease", False),
            "author": actor,
            "target_commitish": body.get("target_commitish") or repo.default_branch,
        }
        repo.releases.append(release)
        return 201, self.release(repo, release), {}

    async def op_issueListLabels(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        items, headers = self._page(repo.labels, q, req)
        return 200, [self.label(repo, lb["id"]) for lb in items], headers

    async def op_issueGetMilestonesList(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        state = q.get("state", "open")
        found = [m for m in repo.milestones if state == "all" or m["state"] == state]
        items, headers = self._page(found, q, req)
        return 200, [self.milestone(repo, m["id"]) for m in items], headers
