"""Structured tool results: compact, capped, with explicit truncation markers and links for humans."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "Breadcrumb",
    "Change",
    "DiscoverResult",
    "Event",
    "EventList",
    "EventSummary",
    "ExceptionInfo",
    "Frame",
    "Issue",
    "IssueDetails",
    "IssueList",
    "Note",
    "Organization",
    "OrganizationList",
    "Project",
    "ProjectList",
    "Release",
    "ReleaseList",
    "SentryWhoAmI",
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
    events: int = Field(description="Times seen")
    users: int = Field(description="Users affected")
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
