"""Triage reads beyond one issue's detail: who is hit (tags), how often and since when (counts over
time), what the issue went through (activity), releases' health, commits and deploys, user feedback,
and Seer's autofix state. Every field the spec leaves loose is read defensively (obj/objs/count)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fleet_core import BackendError, ToolError

from .models import (
    ActivityItem,
    Autofix,
    CountBucket,
    CountSeries,
    Deploy,
    DeployList,
    EventCounts,
    Feedback,
    FeedbackList,
    IssueActivity,
    IssueEventCounts,
    IssueTags,
    ProjectHealth,
    ReleaseCommit,
    ReleaseCommitList,
    ReleaseHealth,
    TagBreakdown,
    TagValue,
    TagValueList,
)
from .ops import Triage
from .shapes import clip, count, obj, objs

__all__ = ["DEFAULT_TAGS", "Insights"]

# What "who is hit" means for most projects; keys an issue has no values for are reported as absent.
DEFAULT_TAGS = ("environment", "release", "browser", "os", "device", "user", "url", "transaction")
MAX_TOP = 10
MAX_ACTIVITY = 50
MAX_SUMMARY = 6000
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _when(timestamp: Any) -> str | None:
    """A timeseries timestamp (ms or s since the epoch) as ISO 8601 UTC."""
    if not isinstance(timestamp, int | float) or isinstance(timestamp, bool):
        return None
    seconds = timestamp / 1000 if timestamp > 10**11 else timestamp
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _percent(value: Any) -> float | None:
    number = _number(value)
    return round(number, 3) if number is not None else None


def _buckets(values: Any) -> list[CountBucket]:
    out = []
    for v in objs(values):
        when, value = _when(v.get("timestamp")), _number(v.get("value"))
        if when is not None:
            out.append(CountBucket(time=when, value=value or 0.0))
    return out


def _user(raw: Any) -> str | None:
    user = obj(raw)
    name = user.get("email") or user.get("username") or user.get("name") or user.get("id")
    return str(name) if name is not None else None


class Insights:
    """The triage reads, given the core read side (org default, id lookups, issue shapes)."""

    def __init__(self, triage: Triage) -> None:
        self.t = triage
        self.client = triage.client

    # -- who is hit ---------------------------------------------------------------------------

    def _tag_value(self, raw: dict[str, Any], total: int | None) -> TagValue:
        n = count(raw.get("count"))
        value = raw.get("value")
        return TagValue(
            value=clip(str(value), 200) if value is not None else None,
            count=n,
            percent=round(100 * n / total, 1) if n is not None and total else None,
            first_seen=raw.get("firstSeen") if isinstance(raw.get("firstSeen"), str) else None,
            last_seen=raw.get("lastSeen") if isinstance(raw.get("lastSeen"), str) else None,
        )

    async def issue_tags(
        self, organization: str | None, issue: str, keys: list[str] | None, environments: list[str]
    ) -> IssueTags:
        org = self.t.org(organization)
        issue_id = await self.client.issue_id(org, issue)
        tags, absent = [], []
        for key in keys or DEFAULT_TAGS:
            try:
                raw = obj(await self.client.issue_tag(org, issue_id, key, environments=environments))
            except ToolError as exc:
                if isinstance(exc, BackendError) or "Not found" not in str(exc):
                    raise
                absent.append(key)  # Sentry answers 404 for a key the issue has no values for
                continue
            total = count(raw.get("totalValues"))
            top = [self._tag_value(v, total) for v in objs(raw.get("topValues"))[:MAX_TOP]]
            if not top and not total:
                absent.append(key)
                continue
            tags.append(
                TagBreakdown(
                    key=str(raw.get("key") or key),
                    name=str(raw.get("name") or key),
                    unique_values=count(raw.get("uniqueValues")),
                    total=total,
                    top=top,
                )
            )
        return IssueTags(issue_id=issue_id, environments=environments, tags=tags, absent=absent)

    async def tag_values(
        self, organization: str | None, issue: str, key: str, sort: str | None, environments: list[str]
    ) -> TagValueList:
        org = self.t.org(organization)
        issue_id = await self.client.issue_id(org, issue)
        raw = await self.client.issue_tag_values(org, issue_id, key, sort=sort, environments=environments)
        return TagValueList(
            issue_id=issue_id, key=key, values=[self._tag_value(v, None) for v in objs(raw)[:100]]
        )

    # -- what happened ------------------------------------------------------------------------

    async def activity(self, organization: str | None, issue: str) -> IssueActivity:
        org = self.t.org(organization)
        issue_id = await self.client.issue_id(org, issue)
        raw = obj(await self.client.issue(org, issue_id))
        items = []
        for a in objs(raw.get("activity")):
            data = obj(a.get("data"))
            detail = data.get("text") or data.get("version") or data.get("assignee") or data.get("status")
            when = a.get("dateCreated")
            items.append(
                ActivityItem(
                    type=str(a.get("type") or "unknown"),
                    when=when if isinstance(when, str) else None,
                    user=_user(a.get("user")),
                    detail=clip(str(detail), 500) if detail is not None else None,
                )
            )
        items.sort(key=lambda i: i.when or "", reverse=True)
        return IssueActivity(
            issue_id=issue_id,
            short_id=str(raw.get("shortId") or ""),
            items=items[:MAX_ACTIVITY],
            omitted=max(0, len(items) - MAX_ACTIVITY),
        )

    # -- how often, since when ----------------------------------------------------------------

    async def event_counts(
        self,
        organization: str | None,
        *,
        query: str | None,
        y_axis: str,
        project: str | None,
        environment: str | None,
        group_by: list[str],
        top: int | None,
        stats_period: str | None,
    ) -> EventCounts:
        org = self.t.org(organization)
        raw = obj(
            await self.client.timeseries(
                org,
                query=query,
                y_axis=y_axis,
                stats_period=stats_period,
                projects=[await self.t.project_id(org, project)] if project else [],
                environments=[environment] if environment else [],
                group_by=group_by,
                top_events=top if group_by else None,
            )
        )
        series, interval = [], None
        for s in objs(raw.get("timeSeries")):
            meta = obj(s.get("meta"))
            interval = interval or _number(meta.get("interval"))
            buckets = _buckets(s.get("values"))
            group = {str(g.get("key")): str(g.get("value")) for g in objs(s.get("groupBy"))}
            series.append(CountSeries(group=group, total=sum(b.value for b in buckets), buckets=buckets))
        return EventCounts(
            organization=org,
            query=query,
            y_axis=y_axis,
            stats_period=stats_period,
            interval=interval,
            series=series,
        )

    async def issue_event_counts(
        self, organization: str | None, issue: str, stats_period: str, environment: str | None
    ) -> IssueEventCounts:
        org = self.t.org(organization)
        issue_id = await self.client.issue_id(org, issue)
        raw = obj(await self.client.issue(org, issue_id))
        short_id = str(raw.get("shortId") or issue_id)
        counts = await self.event_counts(
            org,
            query=f"issue:{short_id}",
            y_axis="count()",
            project=None,
            environment=environment,
            group_by=[],
            top=None,
            stats_period=stats_period,
        )
        buckets = counts.series[0].buckets if counts.series else []
        first_seen = raw.get("firstSeen") if isinstance(raw.get("firstSeen"), str) else None
        return IssueEventCounts(
            issue=self.t.to_issue(org, raw),
            first_seen=first_seen,
            first_release=obj(raw.get("firstRelease")).get("version"),
            last_release=obj(raw.get("lastRelease")).get("version"),
            new_in_period=_within(first_seen, stats_period),
            stats_period=stats_period,
            events_in_period=sum(b.value for b in buckets),
            peak=max(buckets, key=lambda b: b.value) if buckets else None,
            buckets=buckets,
        )

    # -- releases -----------------------------------------------------------------------------

    async def release_health(
        self, organization: str | None, version: str, project: str | None, period: str | None
    ) -> ReleaseHealth:
        org = self.t.org(organization)
        project_id = await self.t.project_id(org, project) if project else None
        raw = obj(await self.client.release_health(org, version, project=project_id, period=period))
        projects = []
        for p in objs(raw.get("projects")):
            h = obj(p.get("healthData"))
            projects.append(
                ProjectHealth(
                    project=str(p.get("slug") or p.get("id") or ""),
                    has_health_data=bool(h.get("hasHealthData") or p.get("hasHealthData")),
                    crash_free_sessions=_percent(h.get("crashFreeSessions")),
                    crash_free_users=_percent(h.get("crashFreeUsers")),
                    sessions=count(h.get("totalSessions")),
                    sessions_crashed=count(h.get("sessionsCrashed")),
                    sessions_errored=count(h.get("sessionsErrored")),
                    users=count(h.get("totalUsers")),
                    adoption=_percent(h.get("adoption")),
                    new_issues=count(p.get("newGroups")),
                )
            )
        return ReleaseHealth(release=self.t.release_model(org, raw), projects=projects)

    async def release_commits(
        self, organization: str | None, version: str, limit: int, cursor: str | None
    ) -> ReleaseCommitList:
        org = self.t.org(organization)
        page = await self.client.release_commits(org, version, limit=limit, cursor=cursor)
        commits = []
        for c in objs(page.items):
            pull = obj(c.get("pullRequest"))
            message = c.get("message")
            commits.append(
                ReleaseCommit(
                    id=str(c.get("id") or ""),
                    message=clip(message.split("\n", 1)[0], 200) if isinstance(message, str) else None,
                    author=_user(c.get("author")),
                    date=c.get("dateCreated") if isinstance(c.get("dateCreated"), str) else None,
                    pull_request=clip(str(pull.get("title") or pull.get("id")), 200) if pull else None,
                )
            )
        return ReleaseCommitList(version=version, commits=commits, next_cursor=page.next_cursor)

    async def release_deploys(
        self, organization: str | None, version: str, limit: int, cursor: str | None
    ) -> DeployList:
        org = self.t.org(organization)
        page = await self.client.release_deploys(org, version, limit=limit, cursor=cursor)
        deploys = [
            Deploy(
                environment=d.get("environment"),
                name=d.get("name"),
                started=d.get("dateStarted"),
                finished=d.get("dateFinished"),
                url=d.get("url"),
            )
            for d in objs(page.items)
        ]
        return DeployList(version=version, deploys=deploys, next_cursor=page.next_cursor)

    # -- what users said ----------------------------------------------------------------------

    async def user_feedback(
        self, organization: str | None, project: str, limit: int, cursor: str | None
    ) -> FeedbackList:
        org = self.t.org(organization)
        page = await self.client.user_feedback(org, project, limit=limit, cursor=cursor)
        feedback = [
            Feedback(
                id=str(f.get("id") or ""),
                name=f.get("name"),
                email=f.get("email"),
                comments=clip(f.get("comments"), 2000),
                date=f.get("dateCreated"),
                event_id=f.get("eventID") or obj(f.get("event")).get("eventID"),
                issue=obj(f.get("issue")).get("shortId"),
            )
            for f in objs(page.items)
        ]
        return FeedbackList(project=project, feedback=feedback, next_cursor=page.next_cursor)

    # -- Seer ---------------------------------------------------------------------------------

    async def autofix(self, organization: str | None, issue: str) -> Autofix:
        org = self.t.org(organization)
        issue_id = await self.client.issue_id(org, issue)
        raw = obj(await self.client.autofix_state(org, issue_id))
        state = raw.get("autofix")
        if not isinstance(state, dict):
            return Autofix(
                issue_id=issue_id, exists=False, status=None, run_id=None, summary=None, truncated=False
            )
        summary = obj(raw.get("formatted")).get("content")
        text = summary if isinstance(summary, str) else None
        run_id = state.get("run_id")
        return Autofix(
            issue_id=issue_id,
            exists=True,
            status=str(state["status"]) if state.get("status") is not None else None,
            run_id=str(run_id) if run_id is not None else None,
            summary=clip(text, MAX_SUMMARY),
            truncated=bool(text and len(text) > MAX_SUMMARY),
        )


def _within(first_seen: str | None, stats_period: str) -> bool:
    if not first_seen:
        return False
    try:
        seen = datetime.fromisoformat(first_seen.replace("Z", "+00:00"))
    except ValueError:
        return False
    amount, unit = int(stats_period[:-1]), stats_period[-1]
    return seen >= datetime.now(UTC) - timedelta(seconds=amount * _UNITS[unit])
