"""build_server: the fleet-gitea MCPServer. Tools are thin; the work happens in ops.py and ops_write.py."""

from __future__ import annotations

import re
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from fleet_core import READ_ONLY, ToolError, caller, create_server, requires

from . import models as m
from .args import FilePath, Limit, Number, OptRef, Owner, Page, PullNumber, Ref, Repo, State
from .backend import GiteaClient
from .ops import GiteaOps
from .settings import GiteaSettings
from .tools_ci import register_ci
from .tools_delete import register_deletes
from .tools_tracking import register_tracking
from .tools_write import register_writes

__all__ = ["build_server"]

READ = requires("gitea:read")
_USERNAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,39}$")

INSTRUCTIONS = (
    "Gitea as the calling user: every request runs with your own Gitea permissions (the server sends "
    "`Sudo: <you>`). Lists are paged (page/limit, next_page). Large files, diffs and logs are capped and "
    "say so (truncated=true)."
)


def build_server(settings: GiteaSettings, backend: GiteaClient) -> MCPServer:
    mcp = create_server("gitea", instructions=INSTRUCTIONS)
    ops = GiteaOps(backend, settings.max_file_bytes, settings.max_diff_bytes, settings.max_log_lines)

    def who(ctx: Context[Any, Any]) -> str:
        """The Gitea username to act as (Sudo); without one, never the service account's power."""
        identity = caller(ctx)
        username = settings.account_of(identity, "Gitea")
        if not _USERNAME.fullmatch(username):
            raise ToolError(
                f"{username!r} is not a usable Gitea username; an admin must map {identity.subject!r} "
                "to a Gitea account in FLEET_GITEA_USER_MAP"
            )
        return username

    # ------------------------------------------------------------------ you and repositories
    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_me(ctx: Context[Any, Any]) -> m.Me:
        """Your Gitea account (login, name, email, admin flag)."""
        return await ops.get_me(who(ctx))

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_my_repos(
        ctx: Context[Any, Any], page: Page = 1, limit: Limit = 20
    ) -> m.Listing[m.RepoSummary]:
        """Repositories you own or collaborate on."""
        return await ops.list_my_repos(who(ctx), page, limit)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def search_repos(
        ctx: Context[Any, Any],
        query: Annotated[str, Field(description="Words in the name or description", max_length=200)],
        page: Page = 1,
        limit: Limit = 20,
    ) -> m.Listing[m.RepoSummary]:
        """Search repositories you can see."""
        return await ops.search_repos(who(ctx), query, page, limit)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_repo(ctx: Context[Any, Any], owner: Owner, repo: Repo) -> m.RepoDetails:
        """One repository: description, default branch, counts, and what you may do there."""
        return await ops.get_repo(who(ctx), owner, repo)

    # ------------------------------------------------------------------ refs, commits, files
    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_branches(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, page: Page = 1, limit: Limit = 30
    ) -> m.Listing[m.Branch]:
        """Branches with their head commit."""
        return await ops.list_branches(who(ctx), owner, repo, page, limit)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_tags(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, page: Page = 1, limit: Limit = 30
    ) -> m.Listing[m.Tag]:
        """Tags with their commit."""
        return await ops.list_tags(who(ctx), owner, repo, page, limit)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_commits(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        ref: OptRef = None,
        path: Annotated[
            str | None, Field(description="Only commits touching this file", max_length=1000)
        ] = None,
        page: Page = 1,
        limit: Limit = 20,
    ) -> m.Listing[m.CommitSummary]:
        """Commit history of a branch (newest first), optionally for one file."""
        return await ops.list_commits(who(ctx), owner, repo, ref, path, page, limit)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_commit(ctx: Context[Any, Any], owner: Owner, repo: Repo, sha: Ref) -> m.CommitDetail:
        """One commit with its message, parents, diff stats and changed files."""
        return await ops.get_commit(who(ctx), owner, repo, sha)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_file_contents(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, path: FilePath, ref: OptRef = None
    ) -> m.FileContent:
        """A file's text (capped; binary files are detected and not returned) and its blob SHA."""
        return await ops.get_file_contents(who(ctx), owner, repo, path, ref)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_directory_tree(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        ref: Ref,
        path: Annotated[str | None, Field(description="Only under this directory", max_length=1000)] = None,
        recursive: Annotated[bool, Field(description="Include all subdirectories")] = False,
    ) -> m.Tree:
        """Files and directories at a ref (capped at 1000 entries)."""
        return await ops.get_directory_tree(who(ctx), owner, repo, ref, path, recursive)

    # ------------------------------------------------------------------ issues
    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_issues(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        state: State = "open",
        labels: Annotated[list[str] | None, Field(description="Only issues with all these labels")] = None,
        query: Annotated[str | None, Field(description="Words in title or body", max_length=200)] = None,
        page: Page = 1,
        limit: Limit = 20,
    ) -> m.Listing[m.IssueSummary]:
        """Issues of a repository (not pull requests)."""
        return await ops.list_issues(who(ctx), owner, repo, state, labels, query, page, limit)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def search_issues(
        ctx: Context[Any, Any],
        query: Annotated[str, Field(description="Words to search for", min_length=1, max_length=200)],
        state: State = "open",
        kind: Annotated[
            str | None, Field(description="issues or pulls; default both", pattern="^(issues|pulls)$")
        ] = None,
        owner: Annotated[
            str | None, Field(description="Only this owner's repositories", max_length=100)
        ] = None,
        page: Page = 1,
        limit: Limit = 20,
    ) -> m.Listing[m.IssueSummary]:
        """Search issues and pull requests across every repository you can see."""
        return await ops.search_issues(who(ctx), query, state, kind, owner, page, limit)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_issue(ctx: Context[Any, Any], owner: Owner, repo: Repo, number: Number) -> m.IssueDetail:
        """One issue with its body and comments (the last 50)."""
        return await ops.get_issue(who(ctx), owner, repo, number)

    # ------------------------------------------------------------------ pull requests
    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_pull_requests(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        state: State = "open",
        page: Page = 1,
        limit: Limit = 20,
    ) -> m.Listing[m.PullSummary]:
        """Pull requests of a repository."""
        return await ops.list_pull_requests(who(ctx), owner, repo, state, page, limit)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_pull_request(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, number: PullNumber
    ) -> m.PullDetail:
        """One pull request with its changed files (first 100) and line counts."""
        return await ops.get_pull_request(who(ctx), owner, repo, number)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_pull_request_diff(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, number: PullNumber
    ) -> m.Diff:
        """The unified diff of a pull request (capped)."""
        return await ops.get_pull_request_diff(who(ctx), owner, repo, number)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_pull_request_reviews(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        number: PullNumber,
        page: Page = 1,
        limit: Limit = 20,
    ) -> m.Listing[m.Review]:
        """Reviews on a pull request (approvals, change requests, comments)."""
        return await ops.list_pull_request_reviews(who(ctx), owner, repo, number, page, limit)

    # ------------------------------------------------------------------ releases, labels, milestones
    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_releases(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, page: Page = 1, limit: Limit = 10
    ) -> m.Listing[m.Release]:
        """Releases, newest first."""
        return await ops.list_releases(who(ctx), owner, repo, page, limit)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_labels(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, page: Page = 1, limit: Limit = 50
    ) -> m.Listing[m.Label]:
        """Issue labels defined in a repository."""
        return await ops.list_labels(who(ctx), owner, repo, page, limit)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_milestones(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        state: State = "open",
        page: Page = 1,
        limit: Limit = 20,
    ) -> m.Listing[m.Milestone]:
        """Milestones with their open/closed issue counts."""
        return await ops.list_milestones(who(ctx), owner, repo, state, page, limit)

    # ------------------------------------------------------------------ actions and wiki
    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_action_runs(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        status: Annotated[
            str | None, Field(description="e.g. success, failure, running", max_length=30)
        ] = None,
        branch: Annotated[str | None, Field(description="Only runs on this branch", max_length=250)] = None,
        page: Page = 1,
        limit: Limit = 10,
    ) -> m.Listing[m.ActionRun]:
        """Gitea Actions workflow runs, newest first."""
        return await ops.list_action_runs(who(ctx), owner, repo, status, branch, page, limit)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_action_jobs(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        run_id: Annotated[int, Field(description="Run id (from list_action_runs)", ge=1)],
    ) -> list[m.ActionJob]:
        """The jobs of one workflow run, with their failed steps."""
        return await ops.list_action_jobs(who(ctx), owner, repo, run_id)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_job_log_tail(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        job_id: Annotated[int, Field(description="Job id (from list_action_jobs)", ge=1)],
        lines: Annotated[int, Field(description="How many last lines", ge=1, le=5000)] = 100,
    ) -> m.JobLog:
        """A job's log, capped: each failed step's own lines first, then the last lines of the whole log."""
        return await ops.get_job_log_tail(who(ctx), owner, repo, job_id, lines)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_wiki_pages(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, page: Page = 1, limit: Limit = 50
    ) -> m.Listing[m.WikiPageSummary]:
        """Pages of a repository's wiki."""
        return await ops.list_wiki_pages(who(ctx), owner, repo, page, limit)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_wiki_page(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        page_name: Annotated[
            str, Field(description="Page name (from list_wiki_pages)", min_length=1, max_length=250)
        ],
    ) -> m.WikiPage:
        """One wiki page's content (capped)."""
        return await ops.get_wiki_page(who(ctx), owner, repo, page_name)

    register_ci(mcp, ops, who, read_only=settings.read_only)
    if not settings.read_only:
        register_writes(mcp, ops, who)
        register_tracking(mcp, ops, who)
        register_deletes(mcp, ops, who)
    return mcp
