"""The tools that change Sentry (scope sentry:write). Each adds a note naming the caller (ops_change.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from fleet_core import ToolError, caller, requires

from .args import Comment, IssueRef, Org
from .models import AutofixStarted, Change, MergeResult
from .ops_change import Changes

__all__ = ["register_changes"]

WRITE = requires("sentry:write")
# Status changes are reversible and don't delete anything, but each adds a note: not idempotent.
CHANGE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False)
# Merging can't be undone through this API (only in Sentry's UI, by unmerging fingerprints).
MERGE = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=False, openWorldHint=False)
# Seer reads the issue and the linked repositories, and may open a pull request on them.
SEER = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=True)


def register_changes(mcp: MCPServer, changes: Changes) -> None:
    @mcp.tool(meta=WRITE, annotations=CHANGE)
    async def resolve_issue(
        ctx: Context[Any, Any],
        issue: IssueRef,
        organization: Org = None,
        in_next_release: Annotated[
            bool, Field(description="Resolve only once the next release ships")
        ] = False,
        comment: Comment = None,
    ) -> Change:
        """Mark an issue resolved (adds a note naming you)."""
        fields: dict[str, Any] = {"status": "resolvedInNextRelease" if in_next_release else "resolved"}
        action = "Resolved in the next release" if in_next_release else "Resolved"
        return await changes.change(caller(ctx), organization, issue, fields, action, comment)

    @mcp.tool(meta=WRITE, annotations=CHANGE)
    async def unresolve_issue(
        ctx: Context[Any, Any], issue: IssueRef, organization: Org = None, comment: Comment = None
    ) -> Change:
        """Reopen an issue (adds a note naming you)."""
        return await changes.change(
            caller(ctx), organization, issue, {"status": "unresolved"}, "Reopened", comment
        )

    @mcp.tool(meta=WRITE, annotations=CHANGE)
    async def ignore_issue(
        ctx: Context[Any, Any],
        issue: IssueRef,
        organization: Org = None,
        duration_minutes: Annotated[
            int | None, Field(ge=1, le=525_600, description="Ignore for this long")
        ] = None,
        until_occurrences: Annotated[
            int | None, Field(ge=1, description="…or until it happens this often")
        ] = None,
        comment: Comment = None,
    ) -> Change:
        """Ignore (archive) an issue — forever, for a duration, or until it recurs N times (adds a note)."""
        details: dict[str, int] = {}
        if duration_minutes:
            details["ignoreDuration"] = duration_minutes
        if until_occurrences:
            details["ignoreCount"] = until_occurrences
        action = "Ignored" + (f" for {duration_minutes} min" if duration_minutes else "")
        action += f" until {until_occurrences} more events" if until_occurrences else ""
        fields = {"status": "ignored", **({"statusDetails": details} if details else {})}
        return await changes.change(caller(ctx), organization, issue, fields, action, comment)

    @mcp.tool(meta=WRITE, annotations=CHANGE)
    async def assign_issue(
        ctx: Context[Any, Any],
        issue: IssueRef,
        assignee: Annotated[
            str,
            Field(
                description="`me` (you, via the user mapping), a Sentry user's email or username, "
                "`#team-slug`, or `none` to unassign",
                min_length=1,
                max_length=200,
            ),
        ],
        organization: Org = None,
    ) -> Change:
        """Assign an issue to a user or team, or unassign it (adds a note naming you)."""
        return await changes.assign(caller(ctx), organization, issue, assignee)

    @mcp.tool(meta=WRITE, annotations=CHANGE)
    async def add_issue_note(
        ctx: Context[Any, Any],
        issue: IssueRef,
        text: Annotated[str, Field(min_length=1, max_length=5000, description="Markdown text of the note")],
        organization: Org = None,
    ) -> Change:
        """Add a note (comment) to an issue, signed with your name."""
        return await changes.note(caller(ctx), organization, issue, text)

    @mcp.tool(meta=WRITE, annotations=CHANGE)
    async def set_issue_priority(
        ctx: Context[Any, Any],
        issue: IssueRef,
        priority: Annotated[Literal["high", "medium", "low"], Field(description="The new priority")],
        organization: Org = None,
        comment: Comment = None,
    ) -> Change:
        """Set an issue's priority (high, medium, low); adds a note naming you."""
        action = f"Priority set to {priority}"
        return await changes.change(caller(ctx), organization, issue, {"priority": priority}, action, comment)

    @mcp.tool(meta=WRITE, annotations=CHANGE)
    async def bookmark_issue(
        ctx: Context[Any, Any],
        issue: IssueRef,
        bookmarked: Annotated[bool, Field(description="False removes the bookmark")] = True,
        organization: Org = None,
    ) -> Change:
        """Bookmark an issue (or remove the bookmark). Sentry keeps bookmarks per user and this server
        acts with one org token, so the bookmark belongs to that token's user; the note names you."""
        action = "Bookmarked" if bookmarked else "Bookmark removed"
        return await changes.change(
            caller(ctx), organization, issue, {"isBookmarked": bookmarked}, action, None
        )

    @mcp.tool(meta=WRITE, annotations=MERGE)
    async def merge_issues(
        ctx: Context[Any, Any],
        issues: Annotated[
            list[IssueRef],
            Field(
                min_length=2, max_length=20, description="Issues of one project to merge (ids or short ids)"
            ),
        ],
        confirm: Annotated[
            bool, Field(description="Must be true: merging can't be undone through this server")
        ] = False,
        organization: Org = None,
        comment: Comment = None,
    ) -> MergeResult:
        """Merge issues into one (Sentry picks the parent). Destructive: pass confirm=true. Adds a note
        naming you on the merged issue."""
        if not confirm:
            raise ToolError("merge_issues changes issue grouping for good: call it again with confirm=true")
        return await changes.merge(caller(ctx), organization, issues, comment)

    @mcp.tool(meta=WRITE, annotations=SEER)
    async def start_issue_autofix(
        ctx: Context[Any, Any],
        issue: IssueRef,
        instructions: Annotated[
            str | None, Field(description="Extra context for Seer (goes into the note too)", max_length=1000)
        ] = None,
        organization: Org = None,
    ) -> AutofixStarted:
        """Start Seer's autofix (root cause, then a proposed fix) on an issue; needs Seer enabled for the
        organization. Follow it with get_issue_autofix. Adds a note naming you."""
        return await changes.start_autofix(caller(ctx), organization, issue, instructions)
