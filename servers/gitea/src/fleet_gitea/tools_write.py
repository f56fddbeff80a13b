"""The write tools (scope gitea:write); not registered at all in read-only mode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from fleet_core import DESTRUCTIVE, WRITE, requires

from . import models as m
from .args import FilePath, LabelNames, Logins, Number, Owner, PullNumber, Repo, Text, Title
from .ops import GiteaOps

__all__ = ["register_writes"]

WRITE_SCOPE = requires("gitea:write")
# Setting the same title/state/assignees twice leaves the same result.
IDEMPOTENT_WRITE = ToolAnnotations(
    readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False
)
Branch = Annotated[
    str, Field(description="Branch name", min_length=1, max_length=250, pattern=r"^[^\s~^:?*\[\\]+$")
]


def register_writes(mcp: MCPServer, ops: GiteaOps, who: Callable[[Context[Any, Any]], str]) -> None:
    @mcp.tool(meta=WRITE_SCOPE, annotations=WRITE)
    async def create_issue(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        title: Title,
        body: Text = "",
        labels: Annotated[list[str] | None, Field(description="Label names to set")] = None,
        assignees: Annotated[list[str] | None, Field(description="Usernames to assign")] = None,
    ) -> m.IssueSummary:
        """Open a new issue, as you."""
        return await ops.create_issue(who(ctx), owner, repo, title, body, labels, assignees)

    @mcp.tool(meta=WRITE_SCOPE, annotations=WRITE)
    async def comment_on_issue(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        number: Number,
        body: Annotated[str, Field(description="Markdown comment", min_length=1, max_length=65_536)],
    ) -> m.Comment:
        """Comment on an issue or pull request, as you."""
        return await ops.comment_on_issue(who(ctx), owner, repo, number, body)

    @mcp.tool(meta=WRITE_SCOPE, annotations=IDEMPOTENT_WRITE)
    async def edit_issue(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        number: Number,
        title: Annotated[str | None, Field(description="New title", min_length=1, max_length=255)] = None,
        body: Annotated[str | None, Field(description="New body (replaces it)", max_length=65_536)] = None,
        state: Annotated[Literal["open", "closed"] | None, Field(description="open or closed")] = None,
    ) -> m.IssueSummary:
        """Change an issue's title, body or state."""
        return await ops.edit_issue(
            who(ctx), owner, repo, number, {"title": title, "body": body, "state": state}
        )

    @mcp.tool(meta=WRITE_SCOPE, annotations=IDEMPOTENT_WRITE)
    async def close_issue(ctx: Context[Any, Any], owner: Owner, repo: Repo, number: Number) -> m.IssueSummary:
        """Close an issue (it can be reopened with edit_issue)."""
        return await ops.edit_issue(who(ctx), owner, repo, number, {"state": "closed"})

    @mcp.tool(meta=WRITE_SCOPE, annotations=IDEMPOTENT_WRITE)
    async def set_issue_assignees(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, number: Number, assignees: Logins
    ) -> m.IssueSummary:
        """Replace the assignees of an issue or pull request (an empty list unassigns everyone)."""
        return await ops.edit_issue(who(ctx), owner, repo, number, {"assignees": assignees})

    @mcp.tool(meta=WRITE_SCOPE, annotations=IDEMPOTENT_WRITE)
    async def add_issue_labels(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, number: Number, labels: LabelNames
    ) -> m.IssueLabels:
        """Add labels (by name) to an issue or pull request."""
        return await ops.add_issue_labels(who(ctx), owner, repo, number, labels)

    @mcp.tool(meta=WRITE_SCOPE, annotations=IDEMPOTENT_WRITE)
    async def remove_issue_label(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        number: Number,
        label: Annotated[str, Field(description="Label name", min_length=1, max_length=100)],
    ) -> m.IssueLabels:
        """Remove one label from an issue or pull request."""
        return await ops.remove_issue_label(who(ctx), owner, repo, number, label)

    @mcp.tool(meta=WRITE_SCOPE, annotations=WRITE)
    async def create_branch(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        name: Branch,
        source: Annotated[
            str, Field(description="Branch, tag or commit to start from", min_length=1, max_length=250)
        ],
    ) -> m.Branch:
        """Create a branch from an existing branch, tag or commit."""
        return await ops.create_branch(who(ctx), owner, repo, name, source)

    @mcp.tool(meta=WRITE_SCOPE, annotations=DESTRUCTIVE)
    async def create_or_update_file(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        path: FilePath,
        content: Annotated[
            str, Field(description="The whole new file content (UTF-8 text)", max_length=1_000_000)
        ],
        message: Annotated[str, Field(description="Commit message", min_length=1, max_length=5000)],
        sha: Annotated[
            str | None,
            Field(
                description="Blob SHA from get_file_contents: required to update an existing file; "
                "the write is refused if the file changed since you read it. Omit to create a new file.",
                pattern="^[0-9a-f]{40}([0-9a-f]{24})?$",
            ),
        ] = None,
        branch: Annotated[
            str | None, Field(description="Branch to commit on (default branch if omitted)", max_length=250)
        ] = None,
        new_branch: Annotated[
            str | None, Field(description="Create this branch from `branch` for the commit", max_length=250)
        ] = None,
    ) -> m.FileWrite:
        """Create a file, or replace an existing one (pass its blob SHA), in one commit as you."""
        return await ops.create_or_update_file(
            who(ctx), owner, repo, path, content, message, branch, new_branch, sha
        )

    @mcp.tool(meta=WRITE_SCOPE, annotations=WRITE)
    async def create_pull_request(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        title: Title,
        head: Annotated[str, Field(description="Branch with the changes", min_length=1, max_length=250)],
        base: Annotated[str, Field(description="Branch to merge into", min_length=1, max_length=250)],
        body: Text = "",
    ) -> m.PullSummary:
        """Open a pull request from head into base."""
        return await ops.create_pull_request(who(ctx), owner, repo, title, head, base, body)

    @mcp.tool(meta=WRITE_SCOPE, annotations=WRITE)
    async def review_pull_request(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        number: PullNumber,
        event: Annotated[
            Literal["APPROVED", "REQUEST_CHANGES", "COMMENT"], Field(description="Your verdict")
        ],
        body: Text = "",
    ) -> m.Review:
        """Submit a review: approve, request changes, or comment."""
        return await ops.review_pull_request(who(ctx), owner, repo, number, event, body)

    @mcp.tool(meta=WRITE_SCOPE, annotations=DESTRUCTIVE)
    async def merge_pull_request(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        number: PullNumber,
        method: Annotated[
            Literal["merge", "rebase", "rebase-merge", "squash", "fast-forward-only"],
            Field(description="How to merge"),
        ] = "merge",
        message: Annotated[str | None, Field(description="Merge commit message", max_length=5000)] = None,
        expected_head_sha: Annotated[
            str | None,
            Field(
                description="Refuse to merge if the PR head moved from this commit",
                pattern="^[0-9a-f]{7,64}$",
            ),
        ] = None,
        delete_branch: Annotated[bool, Field(description="Delete the head branch after merging")] = False,
    ) -> m.MergeResult:
        """Merge a pull request into its base branch (changes the base branch; cannot be undone here)."""
        return await ops.merge_pull_request(
            who(ctx), owner, repo, number, method, message, expected_head_sha, delete_branch
        )

    @mcp.tool(meta=WRITE_SCOPE, annotations=WRITE)
    async def create_release(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        tag: Annotated[str, Field(description="Tag name (created if missing)", min_length=1, max_length=250)],
        target: Annotated[
            str | None,
            Field(description="Branch or commit to tag (default branch if omitted)", max_length=250),
        ] = None,
        name: Annotated[str, Field(description="Release title (defaults to the tag)", max_length=255)] = "",
        body: Text = "",
        draft: Annotated[bool, Field(description="Save as a draft")] = False,
        prerelease: Annotated[bool, Field(description="Mark as a pre-release")] = False,
    ) -> m.Release:
        """Publish a release (and its tag)."""
        return await ops.create_release(who(ctx), owner, repo, tag, target, name, body, draft, prerelease)
