"""Structured tool results: compact, capped, with explicit truncation markers and links for humans."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "ActivityItem",
    "Autofix",
    "AutofixStarted",
    "Breadcrumb",
    "Change",
    "CountBucket",
    "CountSeries",
    "Deploy",
    "DeployList",
    "DiscoverResult",
    "Event",
    "EventCounts",
    "EventList",
    "EventSummary",
    "ExceptionInfo",
    "Feedback",
    "FeedbackList",
    "Frame",
    "Issue",
    "IssueActivity",
    "IssueDetails",
    "IssueEventCounts",
    "IssueList",
    "IssueTags",
    "MergeResult",
    "Note",
    "Organization",
    "OrganizationList",
    "Project",
    "ProjectHealth",
    "ProjectList",
    "Release",
    "ReleaseCommit",
    "ReleaseCommitList",
    "ReleaseHealth",
    "ReleaseList",
    "SentryWhoAmI",
    "TagBreakdown",
    "TagValue",
    "TagValueList",
    "Team",
    "TeamList",
    "Trace",
    "TraceError",
    "TraceSpan",
]

NEXT = "Pass as `cursor` to get the next page; null when there is no more."


class Organization(BaseModel):
    slug: str
    name: str
    id: str
    url: str = Field(description="Sentry UI link")


class OrganizationList(BaseModel):
    organizations: list[Organization]
    next_cursor: str | None = Field(description=NEXT)


class Project(BaseModel):
    slug: str
    name: str
    id: str
    platform: str | None
    teams: list[str]
    url: str


class ProjectList(BaseModel):
    organization: str
    projects: list[Project]
    next_cursor: str | None = Field(description=NEXT)


class Team(BaseModel):
    slug: str
    name: str
    id: str
    member_count: int | None


class TeamList(BaseModel):
    organization: str
    teams: list[Team]
    next_cursor: str | None = Field(description=NEXT)


class Issue(BaseModel):
    id: str
    short_id: str
    title: str
    culprit: str | None
    level: str | None
    status: str
    substatus: str | None
    project: str
    events: int | None = Field(description="Times seen (null if Sentry's count was not a number)")
    users: int | None = Field(description="Users affected (null if unknown)")
    first_seen: str | None
    last_seen: str | None
    assigned_to: str | None
    url: str


class IssueList(BaseModel):
    organization: str
    query: str = Field(description="The query sent to Sentry (after `me` was rewritten to the caller)")
    issues: list[Issue]
    next_cursor: str | None = Field(description=NEXT)


class Frame(BaseModel):
    function: str | None
    file: str | None
    line: int | None
    in_app: bool
    code: str | None = Field(description="The source line, when Sentry has it")


class ExceptionInfo(BaseModel):
    type: str | None
    value: str | None
    handled: bool | None
    frames: list[Frame] = Field(description="Most recent call first; in-app frames before library frames")
    frames_omitted: int = Field(description="Frames left out to keep this short (0 = complete)")


class Breadcrumb(BaseModel):
    timestamp: str | None
    category: str | None
    level: str | None
    message: str | None


class Event(BaseModel):
    event_id: str
    issue_id: str | None
    project: str | None
    title: str
    message: str | None
    timestamp: str | None
    platform: str | None
    environment: str | None
    release: str | None
    trace_id: str | None
    user: str | None = Field(description="The affected user's id/email/username as Sentry recorded it")
    exceptions: list[ExceptionInfo]
    tags: dict[str, str]
    tags_omitted: int
    breadcrumbs: list[Breadcrumb] = Field(description="The most recent breadcrumbs, oldest first")
    breadcrumbs_omitted: int
    url: str


class IssueDetails(BaseModel):
    issue: Issue
    priority: str | None
    first_release: str | None
    comments: int
    latest_event: Event | None


class EventSummary(BaseModel):
    event_id: str
    title: str
    timestamp: str | None
    environment: str | None
    release: str | None
    user: str | None
    url: str


class EventList(BaseModel):
    issue_id: str
    events: list[EventSummary]
    next_cursor: str | None = Field(description=NEXT)


class DiscoverResult(BaseModel):
    organization: str
    dataset: str
    fields: list[str]
    rows: list[dict[str, Any]]
    truncated_values: int = Field(description="Cell values cut to keep the answer short")
    next_cursor: str | None = Field(description=NEXT)


class TraceSpan(BaseModel):
    depth: int
    op: str | None
    description: str | None
    project: str | None
    duration_ms: float | None
    errors: int


class TraceError(BaseModel):
    event_id: str
    issue: str | None
    title: str | None
    level: str | None
    project: str | None


class Trace(BaseModel):
    trace_id: str
    span_count: int
    spans: list[TraceSpan] = Field(description="Depth-first; the slowest children first")
    spans_omitted: int
    errors: list[TraceError]
    url: str


class Release(BaseModel):
    version: str
    short_version: str | None
    status: str | None
    created: str | None
    released: str | None
    new_issues: int | None
    commits: int | None
    deploys: int | None
    last_deploy: str | None
    projects: list[str]
    url: str


class ReleaseList(BaseModel):
    organization: str
    releases: list[Release]
    next_cursor: str | None = Field(description=NEXT)


class Note(BaseModel):
    id: str
    text: str


class Change(BaseModel):
    issue: Issue
    action: str = Field(description="What was done, in words")
    note: Note = Field(description="The note that records who did it (the org token can't impersonate)")


class SentryWhoAmI(BaseModel):
    subject: str = Field(description="You, as the front door identified you (the token's stable `sub`)")
    account: str | None = Field(description="Your account name; changes are attributed to it (null = none)")
    scopes: list[str]
    sentry_user: str | None = Field(
        description="Your Sentry user (email/username) for `assigned:me`; null = unmapped"
    )
    organization: Organization = Field(description="The organization the server's token acts in")
    api: str = Field(description="The Sentry API base URL this server talks to")
    acts_as: str = Field(description="How changes are made and attributed")


# -- triage: who is hit, how often, since when ---------------------------------------------------


class TagValue(BaseModel):
    value: str | None
    count: int | None
    percent: float | None = Field(description="Share of the issue's events with this tag, when known")
    first_seen: str | None
    last_seen: str | None


class TagBreakdown(BaseModel):
    key: str
    name: str
    unique_values: int | None
    total: int | None = Field(description="Events that carry this tag")
    top: list[TagValue] = Field(description="The most common values, most frequent first")


class IssueTags(BaseModel):
    issue_id: str
    environments: list[str] = Field(description="Restricted to these environments (empty = all)")
    tags: list[TagBreakdown]
    absent: list[str] = Field(description="Requested tag keys this issue has no values for")


class TagValueList(BaseModel):
    issue_id: str
    key: str
    values: list[TagValue]


class ActivityItem(BaseModel):
    type: str
    when: str | None
    user: str | None = Field(description="Who did it (null = Sentry itself)")
    detail: str | None = Field(description="Note text, new status, assignee or release, when there is one")


class IssueActivity(BaseModel):
    issue_id: str
    short_id: str
    items: list[ActivityItem] = Field(description="Newest first")
    omitted: int


class CountBucket(BaseModel):
    time: str = Field(description="Bucket start, ISO 8601 UTC")
    value: float


class CountSeries(BaseModel):
    group: dict[str, str] = Field(description="The group's values (empty when not grouped)")
    total: float
    buckets: list[CountBucket]


class EventCounts(BaseModel):
    organization: str
    query: str | None
    y_axis: str
    stats_period: str | None
    interval: float | None = Field(description="Bucket size, as Sentry's meta.interval reports it")
    series: list[CountSeries]


class IssueEventCounts(BaseModel):
    issue: Issue
    first_seen: str | None
    first_release: str | None
    last_release: str | None
    new_in_period: bool = Field(description="First seen inside the requested period")
    stats_period: str
    events_in_period: float
    peak: CountBucket | None
    buckets: list[CountBucket]


class ProjectHealth(BaseModel):
    project: str
    has_health_data: bool
    crash_free_sessions: float | None = Field(description="Percent")
    crash_free_users: float | None = Field(description="Percent")
    sessions: int | None
    sessions_crashed: int | None
    sessions_errored: int | None
    users: int | None
    adoption: float | None = Field(description="Percent of the project's users on this release (24h)")
    new_issues: int | None


class ReleaseHealth(BaseModel):
    release: Release
    projects: list[ProjectHealth]


class ReleaseCommit(BaseModel):
    id: str
    message: str | None
    author: str | None
    date: str | None
    pull_request: str | None


class ReleaseCommitList(BaseModel):
    version: str
    commits: list[ReleaseCommit]
    next_cursor: str | None = Field(description=NEXT)


class Deploy(BaseModel):
    environment: str | None
    name: str | None
    started: str | None
    finished: str | None
    url: str | None


class DeployList(BaseModel):
    version: str
    deploys: list[Deploy]
    next_cursor: str | None = Field(description=NEXT)


class Feedback(BaseModel):
    id: str
    name: str | None
    email: str | None
    comments: str | None
    date: str | None
    event_id: str | None
    issue: str | None = Field(description="Short id of the issue the feedback is about")


class FeedbackList(BaseModel):
    project: str
    feedback: list[Feedback]
    next_cursor: str | None = Field(description=NEXT)


class MergeResult(BaseModel):
    parent: str = Field(description="The issue the others were merged into")
    children: list[str]
    note: Note


class Autofix(BaseModel):
    issue_id: str
    exists: bool = Field(description="False when Seer has not run on this issue")
    status: str | None
    run_id: str | None
    summary: str | None = Field(description="Seer's own write-up (markdown, capped)")
    truncated: bool


class AutofixStarted(BaseModel):
    issue_id: str
    run_id: str
    note: Note
