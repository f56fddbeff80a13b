"""Write tools for project tracking: an issue's milestone and due date, labels, milestones, wiki pages
(scope gitea:write; registered only when the server is not read-only)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from fleet_core import WRITE, requires

from . import models as m
from .args import Number, Owner, Repo
from .ops import GiteaOps

__all__ = ["register_tracking"]

WRITE_SCOPE = requires("gitea:write")
IDEMPOTENT_WRITE = ToolAnnotations(
    readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False
)
Color = Annotated[str, Field(description="Hex colour, e.g. ee0701", pattern=r"^#?[0-9a-fA-F]{6}$")]
LabelName = Annotated[str, Field(description="Label name", min_length=1, max_length=100)]
MilestoneTitle = Annotated[str, Field(description="Milestone title", min_length=1, max_length=255)]
Due = Annotated[datetime.date | None, Field(description="Due date, YYYY-MM-DD")]
PageName = Annotated[str, Field(description="Page name (from list_wiki_pages)", min_length=1, max_length=250)]
Content = Annotated[str, Field(description="The whole page content (Markdown)", max_length=1_000_000)]
Message = Annotated[str | None, Field(description="Commit message for the wiki change", max_length=5000)]


def register_tracking(mcp: MCPServer, ops: GiteaOps, who: Callable[[Context[Any, Any]], str]) -> None:
    @mcp.tool(meta=WRITE_SCOPE, annotations=IDEMPOTENT_WRITE)
    async def set_issue_milestone(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        number: Number,
        milestone: Annotated[
            str | None, Field(description="Milestone title; null removes it", max_length=255)
        ],
    ) -> m.IssueSummary:
        """Put an issue or pull request in a milestone (by title), or take it out."""
        return await ops.set_issue_milestone(who(ctx), owner, repo, number, milestone)

    @mcp.tool(meta=WRITE_SCOPE, annotations=IDEMPOTENT_WRITE)
    async def set_issue_due_date(
        ctx: Context[Any, Any], owner: Owner, repo: Repo, number: Number, due: Due
    ) -> m.IssueSummary:
        """Set an issue's due date (YYYY-MM-DD), or clear it with null."""
        return await ops.set_issue_due_date(who(ctx), owner, repo, number, due.isoformat() if due else None)

    @mcp.tool(meta=WRITE_SCOPE, annotations=WRITE)
    async def create_label(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        name: LabelName,
        color: Color,
        description: Annotated[str, Field(description="What the label means", max_length=500)] = "",
    ) -> m.Label:
        """Create an issue label in a repository."""
        return await ops.create_label(who(ctx), owner, repo, name, color.lstrip("#"), description)

    @mcp.tool(meta=WRITE_SCOPE, annotations=IDEMPOTENT_WRITE)
    async def edit_label(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        name: LabelName,
        new_name: Annotated[str | None, Field(description="Rename to", min_length=1, max_length=100)] = None,
        color: Annotated[
            str | None, Field(description="New hex colour", pattern=r"^#?[0-9a-fA-F]{6}$")
        ] = None,
        description: Annotated[str | None, Field(description="New description", max_length=500)] = None,
    ) -> m.Label:
        """Rename a label or change its colour or description."""
        change = {"name": new_name, "color": color.lstrip("#") if color else None, "description": description}
        return await ops.edit_label(who(ctx), owner, repo, name, change)

    @mcp.tool(meta=WRITE_SCOPE, annotations=WRITE)
    async def create_milestone(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        title: MilestoneTitle,
        description: Annotated[str, Field(description="What it is for", max_length=5000)] = "",
        due: Due = None,
    ) -> m.Milestone:
        """Create a milestone."""
        return await ops.create_milestone(
            who(ctx), owner, repo, title, description, due.isoformat() if due else None
        )

    @mcp.tool(meta=WRITE_SCOPE, annotations=IDEMPOTENT_WRITE)
    async def edit_milestone(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        title: MilestoneTitle,
        new_title: Annotated[str | None, Field(description="Rename to", min_length=1, max_length=255)] = None,
        state: Annotated[Literal["open", "closed"] | None, Field(description="Close or reopen it")] = None,
        description: Annotated[str | None, Field(description="New description", max_length=5000)] = None,
        due: Due = None,
    ) -> m.Milestone:
        """Rename, close/reopen, re-describe or re-date a milestone."""
        change = {
            "title": new_title,
            "state": state,
            "description": description,
            "due_on": due.isoformat() if due else None,
        }
        return await ops.edit_milestone(who(ctx), owner, repo, title, change)

    @mcp.tool(meta=WRITE_SCOPE, annotations=WRITE)
    async def create_wiki_page(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        title: Annotated[str, Field(description="Page title", min_length=1, max_length=250)],
        content: Content,
        message: Message = None,
    ) -> m.WikiPageSummary:
        """Create a wiki page, as you."""
        return await ops.write_wiki_page(who(ctx), owner, repo, None, title, content, message)

    @mcp.tool(meta=WRITE_SCOPE, annotations=IDEMPOTENT_WRITE)
    async def edit_wiki_page(
        ctx: Context[Any, Any],
        owner: Owner,
        repo: Repo,
        page_name: PageName,
        content: Content,
        title: Annotated[
            str | None, Field(description="New title (renames the page)", max_length=250)
        ] = None,
        message: Message = None,
    ) -> m.WikiPageSummary:
        """Replace a wiki page's content (earlier revisions stay in the wiki's history), as you."""
        return await ops.write_wiki_page(
            who(ctx), owner, repo, page_name, title or page_name.replace("-", " "), content, message
        )
