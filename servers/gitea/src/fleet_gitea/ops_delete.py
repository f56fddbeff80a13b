"""The deletes: branches, tags, releases, files, labels, milestones, wiki pages. The tools that call
these are DESTRUCTIVE and refuse to run without confirm=true (tools_delete.py). Mixed into GiteaOps."""

from __future__ import annotations

from . import models as m
from .backend import file_path, repo_path
from .convert import _ref, wiki_segment
from .ops_tracking import TrackingOps


class DeleteOps(TrackingOps):
    """Mixed into `GiteaOps`, which provides `gitea`; labels and milestones are found by name."""

    async def _delete(self, user: str, path: str, what: str) -> m.DeletedThing:
        await self.gitea.write("DELETE", path, user)
        return m.DeletedThing(deleted=what)

    async def delete_branch(self, user: str, owner: str, repo: str, branch: str) -> m.DeletedThing:
        path = repo_path(owner, repo, "branches", _ref(branch))
        return await self._delete(user, path, f"branch {branch} of {owner}/{repo}")

    async def delete_tag(self, user: str, owner: str, repo: str, tag: str) -> m.DeletedThing:
        return await self._delete(
            user, repo_path(owner, repo, "tags", _ref(tag)), f"tag {tag} of {owner}/{repo}"
        )

    async def delete_release(self, user: str, owner: str, repo: str, tag: str) -> m.DeletedThing:
        path = repo_path(owner, repo, "releases", "tags", _ref(tag))
        return await self._delete(user, path, f"the release of tag {tag} in {owner}/{repo} (the tag stays)")

    async def delete_file(
        self, user: str, owner: str, repo: str, path: str, sha: str, message: str, branch: str | None
    ) -> m.FileWrite:
        body = {"sha": sha, "message": message, **({"branch": branch} if branch else {})}
        answer = await self.gitea.write(
            "DELETE", repo_path(owner, repo, "contents", file_path(path)), user, body
        )
        commit = (answer or {}).get("commit") or {}
        return m.FileWrite(
            path=path,
            branch=branch or "(default branch)",
            commit_sha=commit.get("sha", ""),
            sha="",
            html_url=commit.get("html_url", ""),
        )

    async def delete_label(self, user: str, owner: str, repo: str, name: str) -> m.DeletedThing:
        found = await self._find(user, owner, repo, "labels", "name", name)
        path = repo_path(owner, repo, "labels", str(found["id"]))
        return await self._delete(user, path, f"label {name} of {owner}/{repo}")

    async def delete_milestone(self, user: str, owner: str, repo: str, title: str) -> m.DeletedThing:
        found = await self._find(user, owner, repo, "milestones", "title", title)
        path = repo_path(owner, repo, "milestones", str(found["id"]))
        return await self._delete(user, path, f"milestone {title} of {owner}/{repo}")

    async def delete_wiki_page(self, user: str, owner: str, repo: str, page_name: str) -> m.DeletedThing:
        path = repo_path(owner, repo, "wiki", "page", wiki_segment(page_name))
        return await self._delete(user, path, f"wiki page {page_name} of {owner}/{repo}")
