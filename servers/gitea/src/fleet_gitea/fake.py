"""A fake Gitea (API v1) for tests and the `fleet dev` demo backend — NOT a real Gitea.

Written from the official swagger: every request is checked against the spec subset the project
carries (`fake_spec.py`: path, method, query/path parameter types, JSON body schema) and every
answer is checked against the response schema, so the fake only says what a real Gitea could say.
Violations are recorded in `FakeGitea.violations` (tests assert it stays empty) and answered 400.

It honours the service token + `Sudo` model: requests must carry `Authorization: token <token>`;
`Sudo: <login>` makes the request act as that user, with simple per-user permissions (a private
repo is invisible to non-collaborators → 404; a write needs owner/collaborator-write → 403).
Every request is recorded with its Sudo header so tests can prove who the server acted as.
Gitea sends `null` for absent objects; the swagger has no nullable, so the fake omits such keys.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import anyio
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from .fake_spec import SpecChecker

__all__ = ["FakeGitea", "RecordedRequest", "serve_fake"]

T0 = "2026-01-05T10:00:00Z"
ADMIN = "fleet-bot"


class FakeError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    sudo: str | None
    body: Any
    authorization: str | None = None


@dataclass
class FCommit:
    sha: str
    message: str
    author: str
    parents: list[str]
    tree: dict[str, bytes]
    changed: list[tuple[str, str]]  # (filename, added|modified|removed)
    additions: int
    deletions: int


@dataclass
class FPull:
    head: str
    base: str
    merged: bool = False
    merged_by: str | None = None
    reviews: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FIssue:
    number: int
    title: str
    body: str
    user: str
    state: str = "open"
    labels: list[int] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    milestone: int | None = None
    comments: list[dict[str, Any]] = field(default_factory=list)
    pull: FPull | None = None


@dataclass
class FRepo:
    id: int
    owner: str
    name: str
    private: bool
    description: str
    collaborators: dict[str, str]  # login -> read|write
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, FCommit] = field(default_factory=dict)
    issues: dict[int, FIssue] = field(default_factory=dict)
    labels: list[dict[str, Any]] = field(default_factory=list)
    milestones: list[dict[str, Any]] = field(default_factory=list)
    releases: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    logs: dict[int, str] = field(default_factory=dict)
    wiki: dict[str, str] = field(default_factory=dict)
    default_branch: str = "main"

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


def _sha(*parts: object) -> str:
    return hashlib.sha1("\0".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


class FakeGitea:
    """In-memory Gitea with seeded demo data; `app` is its ASGI application."""

    def __init__(
        self,
        token: str = "fake-admin-token",  # noqa: S107 - the fake's own demo token
        *,
        checker: SpecChecker | None = None,
    ) -> None:
        self.token = token
        self.checker = checker or SpecChecker()
        self.base_url = "http://127.0.0.1"
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.fail_next: list[int] = []  # statuses to answer with, one per coming request
        self.stall = False  # hold every request until close() (slow-backend tests)
        self.redirect = False  # answer every request with a 301 (redirect-guard tests)
        self.reset()

    def reset(self) -> None:
        """Back to the seeded state: fresh data, no recorded requests, no injected faults."""
        self.requests.clear()
        self.violations.clear()
        self.fail_next.clear()
        self.stall = self.redirect = False
        if hasattr(self, "_release"):
            self._release.set()  # let any request still held by `stall` finish
        self._release = anyio.Event()
        self._ids = itertools.count(1000)
        self.users = {"alice": 1, "bob": 2, "carol": 3, ADMIN: 99}
        self.repos: dict[str, FRepo] = {}
        self._seed()

    # ---------------------------------------------------------------- seed data
    def _commit(
        self, repo: FRepo, branch: str, message: str, author: str, changes: dict[str, bytes | None]
    ) -> str:
        parent = repo.branches.get(branch)
        tree = dict(repo.commits[parent].tree) if parent else {}
        changed, adds, dels = [], 0, 0
        for path, data in changes.items():
            old = tree.get(path)
            if data is None:
                tree.pop(path, None)
                changed.append((path, "removed"))
                dels += len((old or b"").splitlines())
                continue
            changed.append((path, "modified" if old is not None else "added"))
            adds += len(data.splitlines())
            dels += len((old or b"").splitlines())
            tree[path] = data
        sha = _sha(repo.full_name, parent, message, sorted(changes))
        repo.commits[sha] = FCommit(
            sha, message, author, [parent] if parent else [], tree, changed, adds, dels
        )
        repo.branches[branch] = sha
        return sha

    def _seed(self) -> None:
        demo = FRepo(1, "alice", "demo", False, "Demo service", {"bob": "read", "carol": "write"})
        self._commit(
            demo,
            "main",
            "Initial commit",
            "alice",
            {"README.md": b"# demo\n\nA demo service.\n", "src/app.py": b"print('hello')\n"},
        )
        self._commit(
            demo,
            "main",
            "Add docs and assets",
            "alice",
            {
                "docs/guide.md": b"# Guide\n\nRun it.\n",
                "assets/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
                "data/big.txt": b"".join(b"line %06d of a large generated file\n" % i for i in range(6000)),
            },
        )
        demo.branches["feature/login"] = demo.branches["main"]
        self._commit(
            demo,
            "feature/login",
            "Add login",
            "carol",
            {"src/login.py": b"def login():\n    return True\n", "src/app.py": b"print('hello, user')\n"},
        )
        demo.branches["docs/typo"] = demo.commits[demo.branches["feature/login"]].parents[0]
        self._commit(demo, "docs/typo", "Fix a typo", "carol", {"docs/guide.md": b"# Guide\n\nRun it!\n"})
        demo.labels = [
            {"id": 1, "name": "bug", "color": "ee0701", "description": "Something is broken"},
            {"id": 2, "name": "enhancement", "color": "84b6eb", "description": "New feature"},
        ]
        demo.milestones = [
            {
                "id": 1,
                "title": "v1.0",
                "description": "First release",
                "state": "open",
                "open_issues": 1,
                "closed_issues": 1,
                "due_on": "2026-03-01T00:00:00Z",
            }
        ]
        demo.issues[1] = FIssue(
            1,
            "Crash on start",
            "It crashes when started without config.",
            "bob",
            labels=[1],
            assignees=["alice"],
            milestone=1,
            comments=[
                {"id": 11, "user": "alice", "body": "Can you share the log?"},
                {"id": 12, "user": "bob", "body": "Attached below."},
            ],
        )
        demo.issues[2] = FIssue(2, "Add dark mode", "Please.", "alice", state="closed", labels=[2])
        demo.issues[3] = FIssue(
            3,
            "Add login",
            "Adds a login function.",
            "carol",
            pull=FPull(
                "feature/login",
                "main",
                reviews=[{"id": 21, "user": "alice", "state": "COMMENT", "body": "Looks fine so far."}],
            ),
        )
        demo.releases = [
            {
                "id": 31,
                "tag_name": "v0.1.0",
                "name": "First preview",
                "body": "Initial preview.",
                "draft": False,
                "prerelease": True,
                "author": "alice",
                "target_commitish": "main",
            }
        ]
        head = demo.branches["main"]
        demo.runs = [
            {
                "id": 41,
                "run_number": 1,
                "display_title": "Add docs and assets",
                "status": "completed",
                "conclusion": "success",
                "event": "push",
                "head_branch": "main",
                "head_sha": head,
                "path": "ci.yml",
            },
            {
                "id": 42,
                "run_number": 2,
                "display_title": "Add login",
                "status": "completed",
                "conclusion": "failure",
                "event": "pull_request",
                "head_branch": "feature/login",
                "head_sha": demo.branches["feature/login"],
                "path": "ci.yml",
            },
        ]
        demo.jobs = [
            {"id": 51, "run_id": 41, "name": "test", "status": "completed", "conclusion": "success"},
            {"id": 52, "run_id": 42, "name": "test", "status": "completed", "conclusion": "failure"},
        ]
        demo.logs = {
            51: "".join(f"step output line {i}\n" for i in range(1, 501)),
            52: "collecting tests\nFAILED tests/test_login.py::test_login - AssertionError\n",
        }
        demo.wiki = {"Home": "Welcome to the demo wiki.", "Deploy-Guide": "1. Build\n2. Ship\n"}
        notes = FRepo(2, "alice", "notes", True, "Alice's private notes", {})
        self._commit(notes, "main", "Notes", "alice", {"plan.md": b"secret plan\n"})
        notes.issues[1] = FIssue(1, "Secret plan", "Only alice can see this.", "alice")
        tools = FRepo(3, "bob", "tools", False, "Bob's tools", {})
        self._commit(tools, "main", "Init", "bob", {"README.md": b"# tools\n"})
        for repo in (demo, notes, tools):
            self.repos[repo.full_name] = repo

    # ---------------------------------------------------------------- permissions
    def _repo(self, actor: str, owner: str, name: str, *, write: bool = False) -> FRepo:
        repo = self.repos.get(f"{owner}/{name}")
        if repo is None or not self._can_read(actor, repo):
            raise FakeError(404, "The target couldn't be found.")
        if write and not self._can_write(actor, repo):
            raise FakeError(403, "user should have a permission to write to this repo")
        return repo

    @staticmethod
    def _can_read(actor: str, repo: FRepo) -> bool:
        return actor in (ADMIN, repo.owner) or not repo.private or actor in repo.collaborators

    @staticmethod
    def _can_write(actor: str, repo: FRepo) -> bool:
        return actor in (ADMIN, repo.owner) or repo.collaborators.get(actor) == "write"

    # ---------------------------------------------------------------- object shapes (per the swagger)
    def user(self, login: str) -> dict[str, Any]:
        return {
            "id": self.users.get(login, 0),
            "login": login,
            "login_name": "",
            "full_name": login.title(),
            "email": f"{login}@example.test",
            "avatar_url": f"{self.base_url}/avatars/{login}",
            "html_url": f"{self.base_url}/{login}",
            "language": "en-US",
            "is_admin": login == ADMIN,
            "last_login": T0,
            "created": T0,
            "restricted": False,
            "active": True,
            "prohibit_login": False,
            "location": "",
            "website": "",
            "description": "",
            "visibility": "public",
            "followers_count": 0,
            "following_count": 0,
            "starred_repos_count": 0,
            "source_id": 0,
            "type": "User",
        }

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
            "comments_count": 0,
            "submitted_at": T0,
            "updated_at": T0,
            "html_url": f"{self.base_url}/{repo.full_name}/pulls/{i.number}#r{r['id']}",
            "pull_request_url": f"{self.base_url}/{repo.full_name}/pulls/{i.number}",
        }

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

    # ---------------------------------------------------------------- ASGI
    async def app(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        request = Request(scope, receive)
        response = await self._handle(request)
        await response(scope, receive, send)

    def close(self) -> None:
        self._release.set()

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        sudo = request.headers.get("sudo")
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode(errors="replace")
        self.requests.append(
            RecordedRequest(
                request.method,
                request.url.path,
                request.url.query,
                sudo,
                parsed,
                request.headers.get("authorization"),
            )
        )
        if self.stall:
            release = self._release
            with anyio.move_on_after(30):
                await release.wait()
            if release is not self._release:  # reset() meanwhile: don't touch the next test's data
                return JSONResponse({"message": "fake reset while this request was held", "url": ""}, 503)
        if self.redirect:
            return Response(status_code=301, headers={"Location": f"{request.url.path}/moved"})
        if self.fail_next:
            status = self.fail_next.pop(0)
            headers = {"Retry-After": "0"} if status == 429 else {}
            return JSONResponse({"message": "injected failure", "url": ""}, status, headers)
        if request.headers.get("authorization") != f"token {self.token}":
            return JSONResponse({"message": "token is required", "url": ""}, 401)
        raw_path = request.scope.get("raw_path", b"").decode() or request.url.path
        match, errors = self.checker.match(request.method, raw_path.split("?", 1)[0])
        if match is None:
            return self._violation(errors)
        query = parse_qsl(request.url.query, keep_blank_values=True)
        errors = self.checker.check_request(match, query, body, request.headers.get("content-type", ""))
        if errors:
            return self._violation(errors)
        if sudo is None and match.operation.operation_id != "getVersion":
            return self._violation([f"{request.method} {request.url.path}: no Sudo header"])
        actor = sudo or ADMIN
        if actor not in self.users:
            return JSONResponse({"message": f"user does not exist [name: {actor}]", "url": ""}, 404)
        handler = getattr(self, f"op_{match.operation.operation_id}")
        try:
            status, payload, headers = await handler(actor, match.path_params, dict(query), parsed, request)
        except FakeError as e:
            return JSONResponse({"message": e.message, "url": ""}, e.status)
        payload = _clean(payload)
        check = payload
        if match.operation.operation_id == "repoGetContents" and isinstance(payload, list):
            check = payload[0] if payload else None  # a directory answers a list of ContentsResponse
        errors = self.checker.check_response(match, status, check)
        if errors:
            return self._violation(errors)
        if isinstance(payload, str):
            return PlainTextResponse(payload, status, headers)
        if payload is None:
            return Response(status_code=status, headers=headers)
        return JSONResponse(payload, status, headers)

    def _violation(self, errors: list[str]) -> Response:
        self.violations.extend(errors)
        return JSONResponse({"message": "fake-gitea spec violation: " + "; ".join(errors), "url": ""}, 400)

    def _page(
        self, items: list[Any], q: dict[str, str], request: Request
    ) -> tuple[list[Any], dict[str, str]]:
        page = int(q.get("page", "1"))
        limit = min(int(q.get("limit", "30")) or 30, 50)
        start = (page - 1) * limit
        headers = {"X-Total-Count": str(len(items))}
        last = max(1, -(-len(items) // limit))
        links = []
        for rel, number in (("next", page + 1), ("last", last)):
            if (rel == "next" and page < last) or (rel == "last" and page != last):
                query = urlencode({**q, "page": number, "limit": limit})
                links.append(f'<{self.base_url}{request.url.path}?{query}>; rel="{rel}"')
        if links:
            headers["Link"] = ", ".join(links)
        return items[start : start + limit], headers

    # ---------------------------------------------------------------- operations (by operationId)
    async def op_getVersion(self, actor, p, q, body, req):
        return 200, {"version": "1.25.0+fleet-fake"}, {}

    async def op_userGetCurrent(self, actor, p, q, body, req):
        return 200, self.user(actor), {}

    async def op_userCurrentListRepos(self, actor, p, q, body, req):
        mine = [r for r in self.repos.values() if actor == r.owner or actor in r.collaborators]
        items, headers = self._page(mine, q, req)
        return 200, [self.repo(r, actor) for r in items], headers

    async def op_repoSearch(self, actor, p, q, body, req):
        term = q.get("q", "").lower()
        found = [
            r
            for r in self.repos.values()
            if self._can_read(actor, r) and (term in r.name.lower() or term in r.description.lower())
        ]
        items, headers = self._page(found, q, req)
        return 200, {"ok": True, "data": [self.repo(r, actor) for r in items]}, headers

    async def op_repoGet(self, actor, p, q, body, req):
        return 200, self.repo(self._repo(actor, p["owner"], p["repo"]), actor), {}

    async def op_repoListBranches(self, actor, p, q, body, req):
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

    async def op_repoCreateBranch(self, actor, p, q, body, req):
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

    async def op_repoListTags(self, actor, p, q, body, req):
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

    async def op_repoGetAllCommits(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        commits = self._history(repo, q.get("sha") or repo.default_branch)
        if q.get("path"):
            commits = [c for c in commits if any(f == q["path"] for f, _ in c.changed)]
        items, headers = self._page(commits, q, req)
        return 200, [self.commit(repo, c, files=q.get("files") != "false") for c in items], headers

    async def op_repoGetSingleCommit(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        commit = repo.commits.get(repo.branches.get(p["sha"], p["sha"]))
        if commit is None:
            raise FakeError(404, f"object does not exist [id: {p['sha']}]")
        return 200, self.commit(repo, commit, files=q.get("files") != "false"), {}

    async def op_GetTree(self, actor, p, q, body, req):
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

    async def op_repoGetContents(self, actor, p, q, body, req):
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

    async def _write_file(self, actor, p, body, *, create: bool):
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
        c = repo.commits[sha]
        who = {"name": actor.title(), "email": f"{actor}@example.test", "date": T0}
        commit = {
            "sha": sha,
            "url": "",
            "html_url": f"{self.base_url}/{repo.full_name}/commit/{sha}",
            "message": message,
            "author": who,
            "committer": who,
            "created": T0,
            "parents": [{"sha": x, "url": "", "created": T0} for x in c.parents],
            "tree": {"sha": _sha("tree", sha), "url": "", "created": T0},
        }
        return commit, self.contents(repo, target, path, with_content=False)

    async def op_repoCreateFile(self, actor, p, q, body, req):
        commit, content = await self._write_file(actor, p, body, create=True)
        return 201, {"commit": commit, "content": content}, {}

    async def op_repoUpdateFile(self, actor, p, q, body, req):
        commit, content = await self._write_file(actor, p, body, create=False)
        return 200, {"commit": commit, "content": content}, {}

    def _issue(self, repo: FRepo, index: str) -> FIssue:
        issue = repo.issues.get(int(index))
        if issue is None:
            raise FakeError(404, "The target couldn't be found.")
        return issue

    def _filter_issues(self, issues, q: dict[str, str]) -> list[FIssue]:
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

    async def op_issueListIssues(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        issues = self._filter_issues(sorted(repo.issues.values(), key=lambda i: -i.number), q)
        if q.get("labels"):
            wanted = set(q["labels"].split(","))
            issues = [i for i in issues if wanted <= {self.label(repo, x)["name"] for x in i.labels}]
        items, headers = self._page(issues, q, req)
        return 200, [self.issue(repo, i) for i in items], headers

    async def op_issueSearchIssues(self, actor, p, q, body, req):
        found = []
        for repo in self.repos.values():
            if not self._can_read(actor, repo) or (q.get("owner") and repo.owner != q["owner"]):
                continue
            found += [(repo, i) for i in self._filter_issues(repo.issues.values(), q)]
        items, headers = self._page(found, q, req)
        return 200, [self.issue(r, i) for r, i in items], headers

    async def op_issueGetIssue(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        return 200, self.issue(repo, self._issue(repo, p["index"])), {}

    async def op_issueGetComments(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        issue = self._issue(repo, p["index"])
        return 200, [self.comment(repo, issue, c) for c in issue.comments], {}

    async def op_issueCreateIssue(self, actor, p, q, body, req):
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

    async def op_issueEditIssue(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        issue = self._issue(repo, p["index"])
        writer = self._can_write(actor, repo)
        if not writer and actor != issue.user:
            raise FakeError(403, "user is not the poster and has no write access")
        if not writer and ("assignees" in body or "milestone" in body):
            raise FakeError(403, "assignees and milestones need write access")
        if "state" in body and body["state"] not in ("open", "closed"):
            raise FakeError(422, "state must be open or closed")
        for key in ("title", "body", "state", "milestone"):
            if key in body:
                setattr(issue, key, body[key])
        if "assignees" in body:
            missing = [a for a in body["assignees"] if a not in self.users]
            if missing:
                raise FakeError(422, f"user does not exist [name: {missing[0]}]")
            issue.assignees = list(body["assignees"])
        return 201, self.issue(repo, issue), {}

    async def op_issueCreateComment(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        issue = self._issue(repo, p["index"])
        comment = {"id": next(self._ids), "user": actor, "body": body["body"]}
        issue.comments.append(comment)
        return 201, self.comment(repo, issue, comment), {}

    async def op_issueAddLabel(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        issue = self._issue(repo, p["index"])
        for want in (body or {}).get("labels", []):
            label = next((lb for lb in repo.labels if want in (lb["id"], lb["name"])), None)
            if label is None:
                raise FakeError(404, f"label does not exist [name: {want}]")
            if label["id"] not in issue.labels:
                issue.labels.append(label["id"])
        return 200, [self.label(repo, x) for x in issue.labels], {}

    async def op_issueRemoveLabel(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        issue = self._issue(repo, p["index"])
        if int(p["id"]) not in issue.labels:
            raise FakeError(404, "label not on this issue")
        issue.labels.remove(int(p["id"]))
        return 204, None, {}

    def _pull(self, repo: FRepo, index: str) -> FIssue:
        issue = repo.issues.get(int(index))
        if issue is None or issue.pull is None:
            raise FakeError(404, "The target couldn't be found.")
        return issue

    async def op_repoListPullRequests(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        pulls = self._filter_issues(
            sorted(repo.issues.values(), key=lambda i: -i.number), {**q, "type": "pulls"}
        )
        items, headers = self._page(pulls, q, req)
        return 200, [self.pull(repo, i) for i in items], headers

    async def op_repoGetPullRequest(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        return 200, self.pull(repo, self._pull(repo, p["index"])), {}

    async def op_repoDownloadPullDiffOrPatch(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        return 200, self._pull_diff(repo, self._pull(repo, p["index"])), {}

    async def op_repoGetPullRequestFiles(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        items, headers = self._page(self._pull_files(repo, self._pull(repo, p["index"])), q, req)
        return 200, items, headers

    async def op_repoListPullReviews(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        issue = self._pull(repo, p["index"])
        assert issue.pull is not None
        items, headers = self._page(issue.pull.reviews, q, req)
        return 200, [self.review(repo, issue, r) for r in items], headers

    async def op_repoCreatePullRequest(self, actor, p, q, body, req):
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

    async def op_repoCreatePullReview(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        issue = self._pull(repo, p["index"])
        assert issue.pull is not None
        if body.get("event") in ("APPROVED", "REQUEST_CHANGES") and actor == issue.user:
            raise FakeError(422, "approve your own pull is not allowed")
        review = {
            "id": next(self._ids),
            "user": actor,
            "state": body.get("event") or "PENDING",
            "body": body.get("body", ""),
        }
        issue.pull.reviews.append(review)
        return 200, self.review(repo, issue, review), {}

    async def op_repoMergePullRequest(self, actor, p, q, body, req):
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

    async def op_repoListReleases(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        items, headers = self._page(list(reversed(repo.releases)), q, req)
        return 200, [self.release(repo, r) for r in items], headers

    async def op_repoCreateRelease(self, actor, p, q, body, req):
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

    async def op_issueListLabels(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        items, headers = self._page(repo.labels, q, req)
        return 200, [self.label(repo, lb["id"]) for lb in items], headers

    async def op_issueGetMilestonesList(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        state = q.get("state", "open")
        found = [m for m in repo.milestones if state == "all" or m["state"] == state]
        items, headers = self._page(found, q, req)
        return 200, [self.milestone(repo, m["id"]) for m in items], headers

    async def op_getWorkflowRuns(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        runs = [
            r
            for r in reversed(repo.runs)
            if not q.get("status") or q["status"] in (r["status"], r["conclusion"])
        ]
        items, headers = self._page(runs, q, req)
        base = f"{self.base_url}/api/v1/repos/{repo.full_name}/actions/runs"
        out = [
            {
                **r,
                "repository_id": repo.id,
                "run_attempt": 1,
                "started_at": T0,
                "completed_at": T0,
                "html_url": f"{self.base_url}/{repo.full_name}/actions/runs/{r['run_number']}",
                "url": f"{base}/{r['id']}",
                "jobs_url": f"{base}/{r['id']}/jobs",
                "actor": self.user(repo.owner),
                "trigger_actor": self.user(repo.owner),
            }
            for r in items
        ]
        return 200, {"total_count": len(runs), "workflow_runs": out}, headers

    async def op_listWorkflowRunJobs(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        if not any(r["id"] == int(p["run"]) for r in repo.runs):
            raise FakeError(404, "run not found")
        jobs = [j for j in repo.jobs if j["run_id"] == int(p["run"])]
        out = [
            {
                **j,
                "head_sha": "",
                "run_attempt": 1,
                "started_at": T0,
                "completed_at": T0,
                "labels": ["ubuntu"],
                "runner_name": "runner-1",
                "steps": [
                    {"number": 1, "name": "run tests", "status": j["status"], "conclusion": j["conclusion"]}
                ],
            }
            for j in jobs
        ]
        return 200, {"total_count": len(out), "jobs": out}, {}

    async def op_downloadActionsRunJobLogs(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        log = repo.logs.get(int(p["job_id"]))
        if log is None:
            raise FakeError(404, "job not found")
        return 200, log, {}

    async def op_repoGetWikiPages(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        items, headers = self._page(sorted(repo.wiki), q, req)
        return 200, [self._wiki_meta(repo, name) for name in items], headers

    def _wiki_meta(self, repo: FRepo, name: str) -> dict[str, Any]:
        who = {"name": repo.owner.title(), "email": f"{repo.owner}@example.test", "date": T0}
        return {
            "title": name.replace("-", " "),
            "sub_url": quote(name),
            "html_url": f"{self.base_url}/{repo.full_name}/wiki/{quote(name)}",
            "last_commit": {
                "sha": _sha("wiki", name),
                "message": f"Update {name}",
                "author": who,
                "commiter": who,
            },
        }

    async def op_repoGetWikiPage(self, actor, p, q, body, req):
        repo = self._repo(actor, p["owner"], p["repo"])
        name = p["pageName"].replace(" ", "-")
        if name not in repo.wiki:
            raise FakeError(404, "wiki page does not exist")
        return (
            200,
            {
                **self._wiki_meta(repo, name),
                "commit_count": 1,
                "footer": "",
                "sidebar": "",
                "content_base64": base64.b64encode(repo.wiki[name].encode()).decode(),
            },
            {},
        )


@contextlib.asynccontextmanager
async def serve_fake(fake: FakeGitea, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve the fake over real loopback HTTP; yields its base URL (no /api/v1)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    url = f"http://{host}:{sock.getsockname()[1]}"
    fake.base_url = url
    config = uvicorn.Config(
        fake.app, log_level="warning", lifespan="off", interface="asgi3", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes no started event
                await anyio.sleep(0.01)
        try:
            yield url
        finally:
            fake.close()
            server.should_exit = True
    sock.close()
