"""The fake Gitea's data: its model (repos, commits, issues, pulls), the seeded demo data, who may see
and write what, the user shape and paging — the base every route module builds on."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fleet_core.specfake import FakeRequest

T0 = "2026-01-05T10:00:00Z"
ADMIN = "fleet-bot"


# What an operation handler (`op_<operationId>`) takes besides the acting user and the parsed JSON body:
# the path parameters, the query (last value of each) and the request; it answers
# (status, JSON payload or text or None, headers).
PathParams = dict[str, str]
Query = dict[str, str]
Reply = tuple[int, Any, dict[str, str]]


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
    due_date: str | None = None


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
    # Spec-legal shapes that once broke tools: tree entries of other types (path -> type), and wiki
    # pages whose `content_base64` is not base64 (name -> the raw string sent).
    odd_tree_entries: dict[str, str] = field(default_factory=dict)
    odd_wiki_base64: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # commit sha -> statuses
    workflows: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)  # tags without a release: name -> commit sha
    default_branch: str = "main"

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


def _sha(*parts: object) -> str:
    return hashlib.sha1("\0".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def _at(second: int) -> str:
    """A Gitea log timestamp (7 fractional digits) `second` seconds after 10:00 on T0's day."""
    return f"2026-01-05T10:{second // 60:02d}:{second % 60:02d}.0000000Z"


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


class FakeState:
    """Seeded in-memory state of the fake; `FakeGitea` (app.py) creates and resets it."""

    base_url: str
    users: dict[str, int]
    repos: dict[str, FRepo]
    _ids: Iterator[int]

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

    def _file_commit(self, repo: FRepo, sha: str, actor: str) -> dict[str, Any]:
        """The FileCommitResponse of a contents write (create, update or delete)."""
        who = {"name": actor.title(), "email": f"{actor}@example.test", "date": T0}
        return {
            "sha": sha,
            "url": "",
            "html_url": f"{self.base_url}/{repo.full_name}/commit/{sha}",
            "message": repo.commits[sha].message,
            "author": who,
            "committer": who,
            "created": T0,
            "parents": [{"sha": x, "url": "", "created": T0} for x in repo.commits[sha].parents],
            "tree": {"sha": _sha("tree", sha), "url": "", "created": T0},
        }

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
            {
                "id": 43,
                "run_number": 3,
                "display_title": "Deploy",
                "status": "running",
                "conclusion": "",
                "event": "workflow_dispatch",
                "head_branch": "main",
                "head_sha": head,
                "path": "deploy.yml",
            },
        ]
        # Job steps carry their times; every log line starts with Gitea's timestamp, so a failing step's
        # own lines can be found (52: "run tests" fails between 10:00:10 and 10:00:20).
        demo.jobs = [
            {"id": 51, "run_id": 41, "name": "test", "status": "completed", "conclusion": "success",
             "steps": [("set up", "success", 0, 5), ("run tests", "success", 5, 60)]},
            {"id": 52, "run_id": 42, "name": "test", "status": "completed", "conclusion": "failure",
             "steps": [("set up", "success", 0, 10), ("run tests", "failure", 10, 20),
                       ("upload report", "skipped", 20, 20)]},
        ]  # fmt: skip
        demo.logs = {
            51: "".join(f"{_at(5 + i // 10)} step output line {i}\n" for i in range(1, 501)),
            52: f"{_at(1)} checking out\n{_at(2)} installing\n"
            + "".join(f"{_at(11 + i)} collecting tests {i}\n" for i in range(5))
            + f"{_at(18)} FAILED tests/test_login.py::test_login - AssertionError\n"
            + "".join(f"{_at(21)} post-run cleanup {i}\n" for i in range(30)),
        }
        demo.workflows = ("ci.yml", "deploy.yml")
        demo.tags = {"v0.0.1": demo.commits[demo.branches["main"]].parents[0]}  # a tag without a release
        # CI statuses: main is green; the login branch has a failing and a skipped check; docs/typo has
        # none at all (the combined answer then has no state).
        demo.statuses = {
            demo.branches["main"]: [{"context": "ci/build", "status": "success", "description": "ok"}],
            demo.branches["feature/login"]: [
                {"context": "ci/build", "status": "success", "description": "ok"},
                {"context": "ci/test", "status": "failure", "description": "1 test failed"},
                {"context": "ci/docs", "status": "skipped", "description": "no docs changed"},
            ],
        }
        demo.wiki = {
            "Home": "Welcome to the demo wiki.",
            "Deploy-Guide": "1. Build\n2. Ship\n",
            "Café-Notes": "Espresso first.",  # its sub_url is escaped: Caf%C3%A9-Notes
            "Imported-Page": "",
        }
        demo.odd_wiki_base64 = {"Imported-Page": "<p>imported, not base64</p>"}
        demo.odd_tree_entries = {"theme": "commit", "latest-docs": "symlink"}
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

    # ---------------------------------------------------------------- paging
    def _page(
        self, items: list[Any], q: dict[str, str], request: FakeRequest
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
                links.append(f'<{self.base_url}{request.raw_path}?{query}>; rel="{rel}"')
        if links:
            headers["Link"] = ", ".join(links)
        return items[start : start + limit], headers
