"""Domain functions: one Gitea call (or two) per tool, trimmed into the models in models.py.

Each function takes the Gitea username to act as; the tools resolve it from the caller.
The read operations live here; the writes are in ops_write.py and the JSON → model trimming in
convert.py (its functions are importable from here too).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from fleet_core import ToolError

from . import models as m
from .backend import GiteaClient, file_path, repo_path
from .convert import (
    _is_binary,
    _listing,
    _login,
    _ref,
    _title,
    action_run,
    cap,
    comment,
    commit_fields,
    commit_summary,
    issue_fields,
    issue_summary,
    pull_fields,
    pull_summary,
    release,
    repo_fields,
    repo_summary,
    review,
    wiki_segment,
)
from .ops_ci import CiOps
from .ops_delete import DeleteOps
from .ops_write import WriteOps

MAX_COMMENTS = 50
MAX_FILES = 100

A = TypeVar("A")
B = TypeVar("B")


async def _both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """Two independent Gitea reads at once, so a tool waits for the slower one, not for both in turn
    (issue 18: each backend round trip is most of a read tool's latency). The first one's error is
    the one raised, as when they ran one after the other. An asyncio task group (the servers run on
    asyncio; anyio's costs several times more per call for the same structure): a cancelled caller,
    anyio scope or not, still cancels both reads (test_gitea_client)."""
    results: list[Any] = [None, None]
    errors: list[BaseException | None] = [None, None]

    async def run(index: int, read: Awaitable[Any]) -> None:
        try:
            results[index] = await read
        except Exception as exc:  # held until both are done, then raised in order
            errors[index] = exc

    async with asyncio.TaskGroup() as tg:
        tg.create_task(run(0, first))
        tg.create_task(run(1, second))
    for error in errors:
        if error is not None:
            raise error
    return results[0], results[1]


MAX_TREE_ENTRIES = 1000


@dataclass
class GiteaOps(WriteOps, CiOps, DeleteOps):
    gitea: GiteaClient
    max_file_bytes: int = 65_536
    max_diff_bytes: int = 65_536
    max_log_lines: int = 200

    # ---------------------------------------------------------------- you and repositories
    async def get_me(self, user: str) -> m.Me:
        u = await self.gitea.get_json("/user", user)
        return m.Me(
            login=u["login"],
            full_name=u.get("full_name", ""),
            email=u.get("email", ""),
            is_admin=u.get("is_admin", False),
            html_url=u.get("html_url", ""),
        )

    async def list_my_repos(self, user: str, page: int, limit: int) -> m.Listing[m.RepoSummary]:
        p = await self.gitea.get_page("/user/repos", user, {"page": page, "limit": limit})
        return _listing(p, repo_summary)

    async def search_repos(self, user: str, query: str, page: int, limit: int) -> m.Listing[m.RepoSummary]:
        params = {"q": query, "includeDesc": True, "page": page, "limit": limit}
        return _listing(await self.gitea.get_page("/repos/search", user, params), repo_summary)

    async def get_repo(self, user: str, owner: str, repo: str) -> m.RepoDetails:
        r = await self.gitea.get_json(repo_path(owner, repo), user)
        perms = r.get("permissions") or {}
        return m.RepoDetails(
            **repo_fields(r),
            language=r.get("language", ""),
            topics=r.get("topics") or [],
            clone_url=r.get("clone_url", ""),
            can_push=perms.get("push", False),
            is_admin=perms.get("admin", False),
            has_issues=r.get("has_issues", False),
            has_wiki=r.get("has_wiki", False),
            has_pull_requests=r.get("has_pull_requests", False),
            has_actions=r.get("has_actions", False),
            release_count=r.get("release_counter", 0),
            branch_count=r.get("branch_count", 0),
        )

    # ---------------------------------------------------------------- refs and commits
    async def list_branches(
        self, user: str, owner: str, repo: str, page: int, limit: int
    ) -> m.Listing[m.Branch]:
        p = await self.gitea.get_page(
            repo_path(owner, repo, "branches"), user, {"page": page, "limit": limit}
        )
        return _listing(
            p,
            lambda b: m.Branch(
                name=b["name"],
                commit_sha=(b.get("commit") or {}).get("id", ""),
                commit_title=_title((b.get("commit") or {}).get("message", "")),
                protected=b.get("protected", False),
                can_push=b.get("user_can_push", False),
            ),
        )

    async def list_tags(self, user: str, owner: str, repo: str, page: int, limit: int) -> m.Listing[m.Tag]:
        p = await self.gitea.get_page(repo_path(owner, repo, "tags"), user, {"page": page, "limit": limit})
        return _listing(
            p,
            lambda t: m.Tag(
                name=t["name"],
                commit_sha=(t.get("commit") or {}).get("sha", ""),
                message=cap(t.get("message"), 500),
            ),
        )

    async def list_commits(
        self, user: str, owner: str, repo: str, ref: str | None, path: str | None, page: int, limit: int
    ) -> m.Listing[m.CommitSummary]:
        params = {
            "sha": ref,
            "path": path,
            "stat": False,
            "verification": False,
            "files": False,
            "page": page,
            "limit": limit,
        }
        return _listing(
            await self.gitea.get_page(repo_path(owner, repo, "commits"), user, params), commit_summary
        )

    async def get_commit(self, user: str, owner: str, repo: str, sha: str) -> m.CommitDetail:
        c = await self.gitea.get_json(
            repo_path(owner, repo, "git", "commits", _ref(sha)),
            user,
            {"stat": True, "files": True, "verification": False},
        )
        files = c.get("files") or []
        stats = c.get("stats") or {}
        return m.CommitDetail(
            **commit_fields(c),
            message=cap((c.get("commit") or {}).get("message", ""), 4000),
            parents=[p["sha"] for p in c.get("parents") or []],
            additions=stats.get("additions", 0),
            deletions=stats.get("deletions", 0),
            files=[
                m.CommitFile(filename=f["filename"], status=f.get("status", "")) for f in files[:MAX_FILES]
            ],
            files_truncated=len(files) > MAX_FILES,
        )

    # ---------------------------------------------------------------- files
    async def get_file_contents(
        self, user: str, owner: str, repo: str, path: str, ref: str | None
    ) -> m.FileContent:
        data = await self.gitea.get_json(
            repo_path(owner, repo, "contents", file_path(path)), user, {"ref": ref}
        )
        if isinstance(data, list):
            raise ToolError(f"{path!r} is a directory, not a file: use get_directory_tree")
        if data.get("type") != "file":
            raise ToolError(f"{path!r} is a {data.get('type') or 'special entry'}, not a file")
        if data.get("content") is None and data.get("size", 0) > 0:
            # Gitea leaves content null above its API blob-size limit: say so rather than return "".
            return m.FileContent(path=data["path"], ref=ref or "(default branch)", sha=data.get("sha", ""),
                                 size=data["size"], binary=False, content=None, truncated=True)  # fmt: skip
        try:
            raw = base64.b64decode(data.get("content") or "")
        except (binascii.Error, ValueError) as e:
            raise ToolError(f"Gitea sent undecodable content for {path!r}") from e
        binary = _is_binary(raw)
        shown = raw[: self.max_file_bytes]
        return m.FileContent(
            path=data["path"],
            ref=ref or "(default branch)",
            sha=data.get("sha", ""),
            size=data.get("size", len(raw)),
            binary=binary,
            content=None if binary else shown.decode("utf-8", errors="replace"),
            truncated=not binary and len(raw) > self.max_file_bytes,
        )

    async def get_directory_tree(
        self, user: str, owner: str, repo: str, ref: str, path: str | None, recursive: bool
    ) -> m.Tree:
        prefix = (file_path(path).rstrip("/") + "/") if path else ""
        t = await self.gitea.get_json(
            repo_path(owner, repo, "git", "trees", _ref(ref)),
            user,
            {"recursive": bool(recursive or prefix), "per_page": MAX_TREE_ENTRIES},
        )
        entries = [e for e in t.get("tree") or [] if e["path"].startswith(prefix)]
        if prefix and not recursive:
            entries = [e for e in entries if "/" not in e["path"][len(prefix) :]]
        if prefix and not entries:
            raise ToolError(f"no directory {path!r} at {ref}")
        shown = entries[:MAX_TREE_ENTRIES]
        return m.Tree(
            ref=ref,
            total=len(entries),
            truncated=bool(t.get("truncated")) or len(entries) > len(shown),
            entries=[
                m.TreeEntry(path=e["path"], type=str(e.get("type") or "blob"), size=e.get("size") or 0)
                for e in shown
            ],
        )

    # ---------------------------------------------------------------- issues
    async def list_issues(
        self,
        user: str,
        owner: str,
        repo: str,
        state: str,
        labels: list[str] | None,
        query: str | None,
        page: int,
        limit: int,
    ) -> m.Listing[m.IssueSummary]:
        params = {
            "state": state,
            "type": "issues",
            "labels": ",".join(labels) if labels else None,
            "q": query,
            "page": page,
            "limit": limit,
        }
        p = await self.gitea.get_page(repo_path(owner, repo, "issues"), user, params)
        return _listing(p, lambda i: issue_summary({"repository": {"full_name": f"{owner}/{repo}"}, **i}))

    async def search_issues(
        self, user: str, query: str, state: str, kind: str | None, owner: str | None, page: int, limit: int
    ) -> m.Listing[m.IssueSummary]:
        params = {"q": query, "state": state, "type": kind, "owner": owner, "page": page, "limit": limit}
        return _listing(await self.gitea.get_page("/repos/issues/search", user, params), issue_summary)

    async def get_issue(self, user: str, owner: str, repo: str, number: int) -> m.IssueDetail:
        base = repo_path(owner, repo, "issues", str(number))
        issue, comments = await _both(
            self.gitea.get_json(base, user), self.gitea.get_json(base + "/comments", user)
        )
        return m.IssueDetail(
            **issue_fields({"repository": {"full_name": f"{owner}/{repo}"}, **issue}),
            body=cap(issue.get("body")),
            comment_list=[comment(c) for c in comments[-MAX_COMMENTS:]],
            comments_truncated=len(comments) > MAX_COMMENTS,
        )

    # ---------------------------------------------------------------- pull requests
    async def list_pull_requests(
        self, user: str, owner: str, repo: str, state: str, page: int, limit: int
    ) -> m.Listing[m.PullSummary]:
        params = {"state": state, "page": page, "limit": limit}
        return _listing(
            await self.gitea.get_page(repo_path(owner, repo, "pulls"), user, params), pull_summary
        )

    async def get_pull_request(self, user: str, owner: str, repo: str, number: int) -> m.PullDetail:
        base = repo_path(owner, repo, "pulls", str(number))
        p, files = await _both(
            self.gitea.get_json(base, user),
            self.gitea.get_page(base + "/files", user, {"page": 1, "limit": MAX_FILES}),
        )
        return m.PullDetail(
            **pull_fields(p),
            body=cap(p.get("body")),
            head_sha=(p.get("head") or {}).get("sha", ""),
            labels=[lb["name"] for lb in p.get("labels") or []],
            assignees=[_login(a) for a in p.get("assignees") or []],
            merged_by=_login(p.get("merged_by")) or None,
            additions=p.get("additions", 0),
            deletions=p.get("deletions", 0),
            changed_files=p.get("changed_files", len(files.items)),
            files=[
                m.ChangedFile(
                    filename=f["filename"],
                    status=f.get("status", ""),
                    additions=f.get("additions", 0),
                    deletions=f.get("deletions", 0),
                )
                for f in files.items
            ],
            files_truncated=files.next_page is not None,
        )

    async def get_pull_request_diff(self, user: str, owner: str, repo: str, number: int) -> m.Diff:
        path = repo_path(owner, repo, "pulls", f"{number}.diff")
        text, more = await self.gitea.get_text(path, user, limit=self.max_diff_bytes)
        return m.Diff(number=number, diff=text + (m.TRUNCATION_MARK if more else ""), truncated=more)

    async def list_pull_request_reviews(
        self, user: str, owner: str, repo: str, number: int, page: int, limit: int
    ) -> m.Listing[m.Review]:
        path = repo_path(owner, repo, "pulls", str(number), "reviews")
        return _listing(await self.gitea.get_page(path, user, {"page": page, "limit": limit}), review)

    # ---------------------------------------------------------------- releases, labels, milestones
    async def list_releases(
        self, user: str, owner: str, repo: str, page: int, limit: int
    ) -> m.Listing[m.Release]:
        p = await self.gitea.get_page(
            repo_path(owner, repo, "releases"), user, {"page": page, "limit": limit}
        )
        return _listing(p, release)

    async def list_labels(
        self, user: str, owner: str, repo: str, page: int, limit: int
    ) -> m.Listing[m.Label]:
        p = await self.gitea.get_page(repo_path(owner, repo, "labels"), user, {"page": page, "limit": limit})
        return _listing(
            p,
            lambda lb: m.Label(
                id=lb["id"], name=lb["name"], color=lb.get("color", ""), description=lb.get("description", "")
            ),
        )

    async def list_milestones(
        self, user: str, owner: str, repo: str, state: str, page: int, limit: int
    ) -> m.Listing[m.Milestone]:
        params = {"state": state, "page": page, "limit": limit}
        p = await self.gitea.get_page(repo_path(owner, repo, "milestones"), user, params)
        return _listing(
            p,
            lambda x: m.Milestone(
                id=x["id"],
                title=x["title"],
                state=x.get("state", ""),
                open_issues=x.get("open_issues", 0),
                closed_issues=x.get("closed_issues", 0),
                due_on=x.get("due_on"),
            ),
        )

    # ---------------------------------------------------------------- actions
    async def list_action_runs(
        self, user: str, owner: str, repo: str, status: str | None, branch: str | None, page: int, limit: int
    ) -> m.Listing[m.ActionRun]:
        params = {"status": status, "branch": branch, "page": page, "limit": limit}
        p = await self.gitea.get_page(repo_path(owner, repo, "actions", "runs"), user, params)
        return _listing(
            p,
            action_run,
        )

    async def list_action_jobs(self, user: str, owner: str, repo: str, run_id: int) -> list[m.ActionJob]:
        data = await self.gitea.get_json(
            repo_path(owner, repo, "actions", "runs", str(run_id), "jobs"), user, {"limit": 50}
        )
        return [
            m.ActionJob(
                id=j["id"],
                run_id=j.get("run_id", run_id),
                name=j.get("name", ""),
                status=j.get("status", ""),
                conclusion=j.get("conclusion", ""),
                failed_steps=[s["name"] for s in j.get("steps") or [] if s.get("conclusion") == "failure"],
            )
            for j in data.get("jobs") or []
        ]

    # ---------------------------------------------------------------- wiki
    async def list_wiki_pages(
        self, user: str, owner: str, repo: str, page: int, limit: int
    ) -> m.Listing[m.WikiPageSummary]:
        p = await self.gitea.get_page(
            repo_path(owner, repo, "wiki", "pages"), user, {"page": page, "limit": limit}
        )
        return _listing(
            p,
            lambda w: m.WikiPageSummary(
                title=w.get("title", ""),
                page_name=w.get("sub_url", ""),
                last_commit=_title((w.get("last_commit") or {}).get("message", "")),
            ),
        )

    async def get_wiki_page(self, user: str, owner: str, repo: str, page_name: str) -> m.WikiPage:
        w = await self.gitea.get_json(repo_path(owner, repo, "wiki", "page", wiki_segment(page_name)), user)
        try:
            raw = base64.b64decode(w.get("content_base64") or "", validate=True)
        except (binascii.Error, ValueError) as e:
            raise ToolError(
                f"Gitea sent wiki page {page_name!r} with content that is not valid base64"
            ) from e
        content = raw.decode("utf-8", errors="replace")
        return m.WikiPage(
            title=w.get("title", ""),
            content=cap(content, self.max_file_bytes),
            truncated=len(content) > self.max_file_bytes,
            html_url=w.get("html_url", ""),
        )
