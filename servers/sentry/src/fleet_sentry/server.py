"""The Sentry MCP server: triage tools over one org token, changes attributed to the caller."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from fleet_core import READ_ONLY, caller, create_server, requires

from .args import Cursor, IssueRef, Limit, Org, Period, Text
from .backend import SentryClient
from .models import (
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
from .ops import Triage
from .ops_change import Changes
from .ops_insights import Insights
from .settings import SentrySettings
from .tools_change import register_changes
from .tools_triage import register_triage

__all__ = ["build_server"]

READ = requires("sentry:read")

INSTRUCTIONS = (
    "Sentry triage for the organization this server is configured with. Start with search_issues "
    "(Sentry search syntax), open one with get_issue, see who is hit with get_issue_tags and how "
    "often with get_issue_event_counts, follow its trace with get_trace. Changes (resolve, ignore, "
    "assign, priority, merge, note, Seer autofix) need sentry:write and each adds a note naming you."
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

    register_triage(mcp, Insights(triage))
    register_changes(mcp, Changes(triage))
    return mcp
