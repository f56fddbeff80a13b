"""The Sentry MCP server: triage tools over one org token, changes attributed to the caller."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from fleet_core import READ_ONLY, caller, create_server, requires

from .models import (
    Change,
    DiscoverResult,
    Event,
    EventList,
    IssueDetails,
    IssueList,
    OrganizationList,
    ProjectList,
    Release,
    ReleaseList,
    SentryWhoAmI,
    TeamList,
    Trace,
)
from .sentry import SentryClient
from .settings import SentrySettings
from .triage import Triage

__all__ = ["build_server"]

READ, WRITE = requires("sentry:read"), requires("sentry:write")
# Status changes are reversible and don't delete anything, but each adds a note: not idempotent.
CHANGE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False)

Org = Annotated[str | None, Field(description="Organization slug; defaults to the server's configured org")]
IssueRef = Annotated[
    str,
    Field(
        description="Issue id (4711) or short id (BACKEND-12)", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"
    ),
]
Limit = Annotated[
    int, Field(ge=1, le=100, description="Most results to return (pages are followed up to this)")
]
Cursor = Annotated[
    str | None, Field(description="`next_cursor` from a previous answer", pattern=r"^[\w:.-]{1,200}$")
]
Period = Annotated[
    str | None, Field(description="Relative time range: 1h, 24h, 14d, 90d …", pattern=r"^\d{1,4}[smhdw]$")
]
Text = Annotated[str | None, Field(description="Optional filter text", max_length=200)]
Comment = Annotated[str | None, Field(description="Why (goes into the attribution note)", max_length=2000)]

INSTRUCTIONS = (
    "Sentry triage for the organization this server is configured with. Start with search_issues "
    "(Sentry search syntax), open one with get_issue, follow its trace with get_trace. Changes "
    "(resolve/ignore/assign/note) need sentry:write and each adds a note naming you."
)

SEARCH_ISSUES = """Search issues with Sentry's own search syntax, newest activity first by default.

Syntax: space-separated `key:value` terms (AND), `!key:value` negates, free text matches the title.
Examples:
- `is:unresolved level:error` — open errors
- `is:unresolved assigned:me` — open issues assigned to YOU (the caller, via the server's user mapping;
  `assigned_or_suggested:me`, `bookmarks:me` and `assigned:[me, none]` work the same way)
- `is:unassigned is:unresolved !level:info`
- `release:backend@1.2.0 environment:production`, `user.email:jane@example.com`
- `TypeError` — free text
Time range: `stats_period` (e.g. 24h, 14d). Sort: date (last seen), new (first seen), freq (events),
user (users affected), trends. Bad syntax comes back as Sentry's own error message."""

SEARCH_EVENTS = """Query events with Sentry's Discover/Explore `events` API: choose columns (`fields`)
and filter with Sentry search syntax.

Examples:
- fields `["title", "project", "level", "timestamp"]`, query `level:error`, sort `-timestamp`
- fields `["issue", "count()", "count_unique(user)"]`, sort `-count()` — top issues by volume
- fields `["release", "count()"]`, query `environment:production`
Aggregates group by the plain fields. `sort` must name a selected field (prefix `-` = descending)."""


def build_server(settings: SentrySettings, backend: SentryClient) -> MCPServer:
    mcp = create_server("sentry", instructions=INSTRUCTIONS)
    mcp.remove_tool("whoami")  # replaced below by one that also reports the Sentry side
    triage = Triage(backend, settings)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def whoami(ctx: Context[Any, Any], organization: Org = None) -> SentryWhoAmI:
        """Who you are here (your subject, scopes and mapped Sentry user) and the organization the
        server's token acts in."""
        return await triage.whoami(caller(ctx), organization)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def find_organizations(
        query: Text = None, limit: Limit = 25, cursor: Cursor = None
    ) -> OrganizationList:
        """List the organizations the server's token can see."""
        return await triage.organizations(query, limit, cursor)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def find_projects(
        organization: Org = None, query: Text = None, limit: Limit = 25, cursor: Cursor = None
    ) -> ProjectList:
        """List projects (slug, platform, teams), optionally filtered by name."""
        return await triage.projects(organization, query, limit, cursor)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def find_teams(
        organization: Org = None, query: Text = None, limit: Limit = 25, cursor: Cursor = None
    ) -> TeamList:
        """List teams (use `#slug` with assign_issue)."""
        return await triage.teams(organization, query, limit, cursor)

    @mcp.tool(meta=READ, annotations=READ_ONLY, description=SEARCH_ISSUES)
    async def search_issues(
        ctx: Context[Any, Any],
        query: Annotated[str, Field(description="Sentry search query", max_length=1000)] = "is:unresolved",
        organization: Org = None,
        project: Annotated[
            str | None, Field(description="Project slug to restrict to", max_length=100)
        ] = None,
        environment: Annotated[
            str | None, Field(description="Environment, e.g. production", max_length=100)
        ] = None,
        sort: Literal["date", "new", "freq", "user", "trends"] = "date",
        stats_period: Period = "14d",
        limit: Limit = 25,
        cursor: Cursor = None,
    ) -> IssueList:
        return await triage.search_issues(
            caller(ctx),
            organization,
            query,
            project=project,
            environment=environment,
            sort=sort,
            stats_period=stats_period,
            limit=limit,
            cursor=cursor,
        )

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_issue(issue: IssueRef, organization: Org = None) -> IssueDetails:
        """An issue with its latest event: exception, stack trace (most recent call first, in-app frames
        first, trimmed), tags and the last breadcrumbs, plus links to Sentry."""
        return await triage.issue(organization, issue)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_event(
        event_id: Annotated[str, Field(description="32-hex event id", pattern=r"^[0-9a-fA-F]{32}$")],
        organization: Org = None,
        project: Annotated[str | None, Field(description="Project slug, if known (one lookup less)")] = None,
    ) -> Event:
        """One event in full detail (exception, trimmed stack trace, tags, breadcrumbs)."""
        return await triage.event(organization, event_id.lower(), project)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_issue_events(
        issue: IssueRef,
        organization: Org = None,
        query: Annotated[str | None, Field(description="Sentry search, e.g. environment:production")] = None,
        stats_period: Period = None,
        limit: Limit = 25,
        cursor: Cursor = None,
    ) -> EventList:
        """The events of one issue, newest first (ids, time, environment, release, user)."""
        return await triage.issue_events(organization, issue, query, stats_period, limit, cursor)

    @mcp.tool(meta=READ, annotations=READ_ONLY, description=SEARCH_EVENTS)
    async def search_events(
        fields: Annotated[list[str], Field(min_length=1, max_length=20, description="Columns / aggregates")],
        query: Annotated[str | None, Field(description="Sentry search query", max_length=1000)] = None,
        organization: Org = None,
        project: Annotated[
            str | None, Field(description="Project slug to restrict to", max_length=100)
        ] = None,
        dataset: Literal["errors", "spans", "logs"] = "errors",
        sort: Annotated[str | None, Field(description="A selected field; `-` prefix = descending")] = None,
        stats_period: Period = "24h",
        limit: Limit = 25,
        cursor: Cursor = None,
    ) -> DiscoverResult:
        return await triage.search_events(
            organization,
            dataset=dataset,
            fields=fields,
            query=query,
            project=project,
            sort=sort,
            stats_period=stats_period,
            limit=limit,
            cursor=cursor,
        )

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_trace(
        trace_id: Annotated[str, Field(description="32-hex trace id", pattern=r"^[0-9a-fA-F]{32}$")],
        organization: Org = None,
        stats_period: Period = "14d",
    ) -> Trace:
        """A distributed trace as a trimmed span tree (slowest children first) with its errors."""
        return await triage.trace(organization, trace_id.lower(), stats_period)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def find_releases(
        organization: Org = None, query: Text = None, limit: Limit = 25, cursor: Cursor = None
    ) -> ReleaseList:
        """Releases, newest first, optionally filtered by version text."""
        return await triage.releases(organization, query, limit, cursor)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_release(
        version: Annotated[
            str, Field(description="Release version, e.g. backend@1.2.0", min_length=1, max_length=200)
        ],
        organization: Org = None,
    ) -> Release:
        """One release: status, new issues, commits, deploys, projects."""
        return await triage.release(organization, version)

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
        changes: dict[str, Any] = {"status": "resolvedInNextRelease" if in_next_release else "resolved"}
        action = "Resolved in the next release" if in_next_release else "Resolved"
        return await triage.change(caller(ctx), organization, issue, changes, action, comment)

    @mcp.tool(meta=WRITE, annotations=CHANGE)
    async def unresolve_issue(
        ctx: Context[Any, Any], issue: IssueRef, organization: Org = None, comment: Comment = None
    ) -> Change:
        """Reopen an issue (adds a note naming you)."""
        return await triage.change(
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
        changes = {"status": "ignored", **({"statusDetails": details} if details else {})}
        return await triage.change(caller(ctx), organization, issue, changes, action, comment)

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
        return await triage.assign(caller(ctx), organization, issue, assignee)

    @mcp.tool(meta=WRITE, annotations=CHANGE)
    async def add_issue_note(
        ctx: Context[Any, Any],
        issue: IssueRef,
        text: Annotated[str, Field(min_length=1, max_length=5000, description="Markdown text of the note")],
        organization: Org = None,
    ) -> Change:
        """Add a note (comment) to an issue, signed with your name."""
        return await triage.note(caller(ctx), organization, issue, text)

    return mcp
