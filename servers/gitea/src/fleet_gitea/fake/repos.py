"""Fake Gitea routes for repositories, branches, tags, commits, trees and file contents."""

from __future__ import annotations

import base64
from typing import Any

from fleet_core.specfake import FakeRequest

from .state import ADMIN, T0, FakeError, FakeState, FCommit, FRepo, PathParams, Query, Reply, _sha, blob_sha


class RepoRoutes(FakeState):
    """Repository, ref, commit and file routes of `FakeGitea`, with their object shapes."""

    def repo(self, repo: FRepo, actor: str) -> dict[str, Any]:
        url = f"{self.base_url}/{repo.full_name}"
        issues = [i for i in repo.issues.values() if i.pull is None and i.state == "open"]
        return {
            "id": repo.id,
            "owner": self.user(repo.owner),
            "name": repo.name,
            "full_name": repo.full_name,
            "description": repo.description,
            "empty": False,
            "private": repo.private,
            "fork": False,
            "template": False,
            "mirror": False,
            "size": 12,
            "language": "Python",
            "html_url": url,
            "url": f"{self.base_url}/api/v1/repos/{repo.full_name}",
            "clone_url": f"{url}.git",
            "ssh_url": f"git@example.test:{repo.full_name}.git",
            "website": "",
            "stars_count": 1,
            "forks_count": 0,
            "watchers_count": 1,
            "open_issues_count": len(issues),
            "open_pr_counter": sum(1 for i in repo.issues.values() if i.pull and i.state == "open"),
            "release_counter": len(repo.releases),
            "default_branch": repo.default_branch,
            "archived": False,
            "created_at": T0,
            "updated_at": T0,
            "topics": ["demo"],
            "permissions": {
                "admin": actor in (ADMIN, repo.owner),
                "push": self._can_write(actor, repo),
                "pull": True,
            },
            "has_issues": True,
            "has_wiki": True,
            "has_pull_requests": True,
            "has_actions": True,
            "has_releases": True,
            "branch_count": len(repo.branches),
            "object_format_name": "sha1",
        }

    def commit(self, repo: FRepo, c: FCommit, *, files: bool = True) -> dict[str, Any]:
        api = f"{self.base_url}/api/v1/repos/{repo.full_name}/git/commits/{c.sha}"
        who = {"name": c.author.title(), "email": f"{c.author}@example.test", "date": T0}
        out = {
            "sha": c.sha,
            "url": api,
            "html_url": f"{self.base_url}/{repo.full_name}/commit/{c.sha}",
            "created": T0,
            "author": self.user(c.author),
            "committer": self.user(c.author),
            "commit": {
                "message": c.message + "\n",
                "url": api,
                "author": who,
                "committer": who,
                "tree": {"sha": _sha("tree", c.sha), "url": api, "created": T0},
            },
            "parents": [{"sha": p, "url": api, "created": T0} for p in c.parents],
            "stats": {"additions": c.additions, "deletions": c.deletions, "total": c.additions + c.deletions},
        }
        if files:
            out["files"] = [{"filename": f, "status": s} for f, s in c.changed]
        return out

    def contents(self, repo: FRepo, ref: str, path: str, *, with_content: bool) -> dict[str, Any]:
        tree = repo.commits[repo.branches.get(ref, ref)].tree
        data = tree.get(path)
        url = f"{self.base_url}/api/v1/repos/{repo.full_name}/contents/{path}?ref={ref}"
        out: dict[str, Any] = {
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "url": url,
            "html_url": f"{self.base_url}/{repo.full_name}/src/branch/{ref}/{path}",
            "last_commit_sha": repo.branches.get(ref, ref),
        }
        if data is None:
            return {**out, "type": "dir", "size": 0, "sha": _sha("tree", path)}
        out.update(
            type="file",
            size=len(data),
            sha=blob_sha(data),
            download_url=f"{self.base_url}/{repo.full_name}/raw/branch/{ref}/{path}",
        )
        if with_content:
            out.update(encoding="base64", content=base64.b64encode(data).decode())
        return out

    async def op_userCurrentListRepos(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        mine = [r for r in self.repos.values() if actor == r.owner or actor in r.collaborators]
        items, headers = self._page(mine, q, req)
        return 200, [self.repo(r, actor) for r in items], headers

    async def op_repoSearch(self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest) -> Reply:
        term = q.get("q", "").lower()
        found = [
            r
            for r in self.repos.values()
            if self._can_read(actor, r) and (term in r.name.lower() or term in r.description.lower())
        ]
        items, headers = self._page(found, q, req)
        return 200, {"ok": True, "data": [self.repo(r, actor) for r in items]}, headers

    async def op_repoGet(self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest) -> Reply:
        return 200, self.repo(self._repo(actor, p["owner"], p["repo"]), actor), {}

    async def op_repoListBranches(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        items, headers = self._page(sorted(repo.branches.items()), q, req)
        return 200, [self._branch(repo, n, s, actor) for n, s in items], headers

    def _branch(self, repo: FRepo, name: str, sha: str, actor: str) -> dict[str, Any]:
        c = repo.commits[sha]
        who = {"name": c.author.title(), "email": f"{c.author}@example.test", "username": c.author}
        return {
            "name": name,
            "protected": name == repo.default_branch,
            "required_approvals": 0,
            "enable_status_check": False,
            "status_check_contexts": [],
            "user_can_push": self._can_write(actor, repo),
            "user_can_merge": self._can_write(actor, repo),
            "effective_branch_protection_name": "",
            "commit": {
                "id": sha,
                "message": c.message,
                "url": "",
                "author": who,
                "committer": who,
                "timestamp": T0,
                "added": [],
                "removed": [],
                "modified": [],
            },
        }

    async def op_repoCreateBranch(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        name = body["new_branch_name"]
        source = body.get("old_ref_name") or body.get("old_branch_name") or repo.default_branch
        source = source.removeprefix("refs/heads/")
        if name in repo.branches:
            raise FakeError(409, f"The branch {name} already exists.")
        sha = repo.branches.get(source) or (source if source in repo.commits else None)
        if sha is None:
            raise FakeError(404, f"The old branch {source} does not exist")
        repo.branches[name] = sha
        return 201, self._branch(repo, name, sha, actor), {}

    async def op_repoListTags(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        tags = [
            {
                "name": r["tag_name"],
                "id": _sha("tag", r["tag_name"]),
                "message": r["name"],
                "commit": {"sha": repo.branches[repo.default_branch], "url": "", "created": T0},
                "zipball_url": "",
                "tarball_url": "",
            }
            for r in repo.releases
        ] + [
            {
                "name": name,
                "id": _sha("tag", name),
                "message": "",
                "commit": {"sha": sha, "url": "", "created": T0},
                "zipball_url": "",
                "tarball_url": "",
            }
            for name, sha in repo.tags.items()
        ]
        items, headers = self._page(tags, q, req)
        return 200, items, headers

    def _history(self, repo: FRepo, ref: str) -> list[FCommit]:
        sha = repo.branches.get(ref) or (ref if ref in repo.commits else None)
        if sha is None:
            raise FakeError(404, f"object does not exist [id: {ref}]")
        out = []
        while sha:
            c = repo.commits[sha]
            out.append(c)
            sha = c.parents[0] if c.parents else ""
        return out

    async def op_repoGetAllCommits(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        commits = self._history(repo, q.get("sha") or repo.default_branch)
        if q.get("path"):
            commits = [c for c in commits if any(f == q["path"] for f, _ in c.changed)]
        items, headers = self._page(commits, q, req)
        return 200, [self.commit(repo, c, files=q.get("files") != "false") for c in items], headers

    async def op_repoGetSingleCommit(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        commit = repo.commits.get(repo.branches.get(p["sha"], p["sha"]))
        if commit is None:
            raise FakeError(404, f"object does not exist [id: {p['sha']}]")
        return 200, self.commit(repo, commit, files=q.get("files") != "false"), {}

    async def op_GetTree(self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        commit = repo.commits.get(repo.branches.get(p["sha"], p["sha"]))
        if commit is None:
            raise FakeError(404, "sha not found")
        recursive = q.get("recursive") == "true"
        entries: dict[str, dict[str, Any]] = {}
        for path, data in sorted(commit.tree.items()):
            parts = path.split("/")
            for depth in range(1, len(parts)):
                d = "/".join(parts[:depth])
                entries.setdefault(
                    d, {"path": d, "mode": "040000", "type": "tree", "size": 0, "sha": _sha(d)}
                )
            entries[path] = {
                "path": path,
                "mode": "100644",
                "type": "blob",
                "size": len(data),
                "sha": blob_sha(data),
            }
        if commit.sha == repo.branches.get(repo.default_branch):
            for path, kind in repo.odd_tree_entries.items():
                entries[path] = {"path": path, "mode": "160000", "type": kind, "size": 0, "sha": _sha(path)}
        listed = [e for e in entries.values() if recursive or "/" not in e["path"]]
        listed.sort(key=lambda e: e["path"])
        page, per_page = int(q.get("page", "1")), int(q.get("per_page", "1000"))
        chunk = listed[(page - 1) * per_page : page * per_page]
        return (
            200,
            {
                "sha": commit.sha,
                "url": "",
                "tree": [{**e, "url": ""} for e in chunk],
                "truncated": page * per_page < len(listed),
                "page": page,
                "total_count": len(listed),
            },
            {},
        )

    async def op_repoGetContents(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        ref = q.get("ref") or repo.default_branch
        if ref not in repo.branches and ref not in repo.commits:
            raise FakeError(404, f"object does not exist [id: {ref}]")
        tree = repo.commits[repo.branches.get(ref, ref)].tree
        path = p["filepath"].strip("/")
        if path in tree:
            return 200, self.contents(repo, ref, path, with_content=True), {}
        children = sorted(
            {path + "/" + k[len(path) + 1 :].split("/")[0] for k in tree if k.startswith(path + "/")}
        )
        if not children:
            raise FakeError(404, f"object does not exist [id: , rel_path: {path}]")
        return 200, [self.contents(repo, ref, c, with_content=False) for c in children], {}

    async def _write_file(
        self, actor: str, p: PathParams, body: Any, *, create: bool
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        branch = body.get("branch") or repo.default_branch
        if branch not in repo.branches:
            raise FakeError(404, f"branch does not exist [name: {branch}]")
        target = body.get("new_branch") or branch
        if target != branch:
            repo.branches[target] = repo.branches[branch]
        path = p["filepath"].strip("/")
        tree = repo.commits[repo.branches[target]].tree
        if create or not body.get("sha"):
            if path in tree:
                raise FakeError(422, f"repository file already exists [path: {path}]")
        elif path not in tree:
            raise FakeError(404, f"object does not exist [id: , rel_path: {path}]")
        elif blob_sha(tree[path]) != body["sha"]:
            raise FakeError(
                422, f"sha does not match [given: {body['sha']}, expected: {blob_sha(tree[path])}]"
            )
        try:
            data = base64.b64decode(body["content"], validate=True)
        except ValueError as e:
            raise FakeError(422, "content is not valid base64") from e
        message = body.get("message") or f"Update {path}"
        sha = self._commit(repo, target, message, actor, {path: data})
        commit = self._file_commit(repo, sha, actor)
        return commit, self.contents(repo, target, path, with_content=False)

    async def op_repoCreateFile(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        commit, content = await self._write_file(actor, p, body, create=True)
        return 201, {"commit": commit, "content": content}, {}

    async def op_repoUpdateFile(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        commit, content = await self._write_file(actor, p, body, create=False)
        return 200, {"commit": commit, "content": content}, {}
