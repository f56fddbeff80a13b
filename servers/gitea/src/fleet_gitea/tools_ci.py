"""Tools for reviewing a change: CI status of a commit or pull request, comparing refs, a commit's
patch, line-level review comments, review requests, notifications, and Gitea Actions runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from fleet_core import READ_ONLY, WRITE, requires

from . import models as m
from .args import FilePath, Limit, Logins, Owner, Page, PullNumber, Ref, Repo
from .ops import GiteaOps

__all__ = ["register_ci"]

READ, WRITE_SCOPE = requires("gitea:read"), requires("gitea:write")
IDEMPOTENT_WRITE = ToolAnnotations(
    readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False
)
# A workflow run executes the repository's own workflow code, which may reach anything (deploys…).
RUNS_WORKFLOW = ToolAnnotations(
    readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=True
)
RunId = Annotated[int, Field(description="Run id (from list_action_runs)", ge=1)]


def register_ci(
    mcp: MCPServer, ops: GiteaOps, who: Callable[[Context[Any, Any]], str], *, read_only: bool
) -> None:
    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_commit_status(ctx: Context[Any, Any], owner: Owner, repo: Repo, ref: Ref) -> m.CommitStatus:
        """CI status of a commit, branch or tag: the combined state and every check (failing ones listed)."""
        return await ops.get_commit_status(who(ctx), owner, repo, ref)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_pull_request_status(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, number: PullNumber
    ) -> m.PullStatus:
        """Is this pull request green? Its head commit's checks, its Actions runs, whether it can merge."""
        return await ops.get_pull_request_status(who(ctx), owner, repo, number)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def compare_refs(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        base: Annotated[str, Field(description="Older branch, tag or SHA", min_length=1, max_length=250)],
        head: Annotated[str, Field(description="Newer branch, tag or SHA", min_length=1, max_length=250)],
    ) -> m.Comparison:
        """What changed between two refs: the commits (oldest first) and the files they touch."""
        return await ops.compare_refs(who(ctx), owner, repo, base, head)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_commit_patch(ctx: Context[Any, Any], owner: Owner, repo: Repo, sha: Ref) -> m.Patch:
        """A commit as a patch (git format-patch: author, message, full diff), capped."""
        return await ops.get_commit_patch(who(ctx), owner, repo, sha)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_pull_request_review_comments(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        number: PullNumber,
        review_id: Annotated[
            int | None, Field(description="Only this review's comments (default: all reviews)", ge=1)
        ] = None,
    ) -> list[m.ReviewComment]:
        """Line-level review comments on a pull request: file, line, body, the diff hunk they refer to."""
        return await ops.list_review_comments(who(ctx), owner, repo, number, review_id)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_notifications(
        ctx: Context[Any, Any],
        include_read: Annotated[bool, Field(description="Also notifications you already read")] = False,
        page: Page = 1,
        limit: Limit = 20,
    ) -> m.Listing[m.Notification]:
        """Your Gitea notifications (issues, pull requests, commits that involve you), newest first."""
        return await ops.list_notifications(who(ctx), include_read, page, limit)

    if read_only:
        return

    @mcp.tool(meta=WRITE_SCOPE, annotations=WRITE)
    async def comment_on_pull_request_line(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        number: PullNumber,
        path: FilePath,
        line: Annotated[int, Field(description="Line number in the diff's file", ge=1)],
        body: Annotated[str, Field(description="Markdown comment", min_length=1, max_length=65_536)],
        side: Annotated[
            Literal["new", "old"], Field(description="new = the changed file's line; old = a removed line")
        ] = "new",
    ) -> m.Review:
        """Comment on one line of a pull request's diff, as you (a review with one line comment)."""
        return await ops.comment_on_line(who(ctx), owner, repo, number, path, line, side, body)

    @mcp.tool(meta=WRITE_SCOPE, annotations=IDEMPOTENT_WRITE)
    async def request_pull_request_reviewers(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        number: PullNumber,
        reviewers: Logins,
        teams: Annotated[
            list[str] | None, Field(description="Team names (organization repos)", max_length=10)
        ] = None,
    ) -> list[m.Review]:
        """Ask people (or teams) to review a pull request."""
        return await ops.request_reviewers(who(ctx), owner, repo, number, reviewers, teams or [])

    @mcp.tool(meta=WRITE_SCOPE, annotations=RUNS_WORKFLOW)
    async def dispatch_workflow(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        workflow: Annotated[
            str,
            # `+` and max_length, not `{1,100}`: the same rule, but a counted Unicode \w compiles to a
            # 6 MB regex held for the life of the process (tests/test_pattern_memory.py)
            Field(description="Workflow file name, e.g. deploy.yml", pattern=r"^[\w.-]+$", max_length=100),
        ],
        ref: Annotated[str, Field(description="Branch or tag to run on", min_length=1, max_length=250)],
        inputs: Annotated[
            dict[str, str] | None, Field(description="workflow_dispatch inputs", max_length=25)
        ] = None,
    ) -> m.WorkflowDispatch:
        """Start a workflow that has a workflow_dispatch trigger (runs the repository's workflow code)."""
        return await ops.dispatch_workflow(who(ctx), owner, repo, workflow, ref, inputs or {})

    @mcp.tool(meta=WRITE_SCOPE, annotations=RUNS_WORKFLOW)
    async def rerun_action_run(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        run_id: RunId,
        failed_only: Annotated[bool, Field(description="Re-run only the jobs that failed")] = False,
    ) -> m.ActionRun:
        """Re-run a finished workflow run (all jobs, or only the failed ones)."""
        return await ops.rerun_action_run(who(ctx), owner, repo, run_id, failed_only)

    @mcp.tool(meta=WRITE_SCOPE, annotations=IDEMPOTENT_WRITE)
    async def cancel_action_run(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, run_id: RunId
    ) -> m.ActionRun:
        """Cancel a queued or running workflow run."""
        return await ops.cancel_action_run(who(ctx), owner, repo, run_id)
