"""The triage read tools beyond search and detail: who is hit, how often and since when, what
happened, releases' health, user feedback and Seer's analysis (scope sentry:read)."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from fleet_core import READ_ONLY, requires

from .args import Cursor, Environment, IssueRef, Limit, Org, Period, ProjectRef
from .models import (
    Autofix,
    DeployList,
    EventCounts,
    FeedbackList,
    IssueActivity,
    IssueEventCounts,
    IssueTags,
    ReleaseCommitList,
    ReleaseHealth,
    TagValueList,
)
from .ops_insights import DEFAULT_TAGS, Insights

__all__ = ["register_triage"]

READ = requires("sentry:read")
TagKey = Annotated[str, Field(description="Tag key, e.g. browser", pattern=r"^[A-Za-z0-9_.:\[\]-]{1,64}$")]
Version = Annotated[
    str, Field(description="Release version, e.g. backend@1.2.0", min_length=1, max_length=200)
]
HealthPeriod = Literal["1h", "24h", "7d", "14d", "30d", "90d"]


def register_triage(mcp: MCPServer, insights: Insights) -> None:
    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_issue_tags(
        issue: IssueRef,
        keys: Annotated[
            list[TagKey] | None,
            Field(max_length=20, description=f"Tag keys to break down; default {', '.join(DEFAULT_TAGS)}"),
        ] = None,
        environment: Environment = None,
        organization: Org = None,
    ) -> IssueTags:
        """Who is hit: an issue's events broken down by tag (environments, releases, browsers, OS,
        devices, users, URLs…) with counts and shares, in one call."""
        envs = [environment] if environment else []
        return await insights.issue_tags(organization, issue, keys, envs)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_issue_tag_values(
        issue: IssueRef,
        key: TagKey,
        sort: Literal["count", "date", "age", "id"] = "count",
        environment: Environment = None,
        organization: Org = None,
    ) -> TagValueList:
        """All values of one tag on an issue (first 100), e.g. every affected user or URL."""
        envs = [environment] if environment else []
        return await insights.tag_values(organization, issue, key, sort, envs)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_issue_activity(issue: IssueRef, organization: Org = None) -> IssueActivity:
        """What happened to an issue, newest first: notes, status changes, assignments, regressions,
        releases that resolved it."""
        return await insights.activity(organization, issue)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_issue_event_counts(
        issue: IssueRef,
        stats_period: Annotated[
            str, Field(description="Window: 1h, 24h, 14d, 90d …", pattern=r"^\d{1,4}[smhdw]$")
        ] = "14d",
        environment: Environment = None,
        organization: Org = None,
    ) -> IssueEventCounts:
        """Is it new, how bad: an issue's events over time (buckets, peak, total in the window), when it
        was first seen and in which release."""
        return await insights.issue_event_counts(organization, issue, stats_period, environment)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_event_counts(
        query: Annotated[str | None, Field(description="Sentry search query", max_length=1000)] = None,
        y_axis: Annotated[
            str, Field(description="Aggregate per bucket: count(), count_unique(user) …", max_length=100)
        ] = "count()",
        group_by: Annotated[
            list[str] | None,
            Field(max_length=3, description="Split into the top series by these fields, e.g. ['release']"),
        ] = None,
        top: Annotated[int, Field(ge=1, le=10, description="How many groups when grouping")] = 5,
        project: Annotated[str | None, Field(description="Project slug or id", max_length=100)] = None,
        environment: Environment = None,
        stats_period: Period = "24h",
        organization: Org = None,
    ) -> EventCounts:
        """Error events over time for any query (buckets per series), optionally split by a field."""
        return await insights.event_counts(
            organization,
            query=query,
            y_axis=y_axis,
            project=project,
            environment=environment,
            group_by=group_by or [],
            top=top,
            stats_period=stats_period,
        )

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_release_health(
        version: Version,
        project: Annotated[
            str | None, Field(description="Only this project (slug or id)", max_length=100)
        ] = None,
        stats_period: HealthPeriod = "24h",
        organization: Org = None,
    ) -> ReleaseHealth:
        """A release's health per project: crash-free sessions and users, adoption, crashed and errored
        sessions, new issues (needs release health / sessions data in Sentry)."""
        return await insights.release_health(organization, version, project, stats_period)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_release_commits(
        version: Version, organization: Org = None, limit: Limit = 50, cursor: Cursor = None
    ) -> ReleaseCommitList:
        """The commits in a release (what changed), with authors and pull requests."""
        return await insights.release_commits(organization, version, limit, cursor)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_release_deploys(
        version: Version, organization: Org = None, limit: Limit = 25, cursor: Cursor = None
    ) -> DeployList:
        """Where and when a release was deployed."""
        return await insights.release_deploys(organization, version, limit, cursor)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def list_user_feedback(
        project: ProjectRef, organization: Org = None, limit: Limit = 25, cursor: Cursor = None
    ) -> FeedbackList:
        """What users reported through Sentry's feedback widget for a project, newest first."""
        return await insights.user_feedback(organization, project, limit, cursor)

    @mcp.tool(meta=READ, annotations=READ_ONLY)
    async def get_issue_autofix(issue: IssueRef, organization: Org = None) -> Autofix:
        """Seer's autofix for an issue: status, and its root cause / solution write-up so far."""
        return await insights.autofix(organization, issue)
