"""The core reads behind the tools: call the client, shape compact results (helpers in shapes.py)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fleet_core import BackendError, Identity, ToolError

from .backend import SentryClient
from .models import (
    Breadcrumb,
    DiscoverResult,
    Event,
    EventList,
    EventSummary,
    ExceptionInfo,
    Frame,
    Issue,
    IssueDetails,
    IssueList,
    Organization,
    OrganizationList,
    Project,
    ProjectList,
    Release,
    ReleaseList,
    SentryWhoAmI,
    Team,
    TeamList,
    Trace,
    TraceError,
    TraceSpan,
)
from .settings import SentrySettings
from .shapes import clip, count, obj, objs

MAX_FRAMES = 15
MAX_TAGS = 25
MAX_CRUMBS = 10
MAX_SPANS = 40
MAX_CELL = 200
# `<key>:me` (also inside `[me, none]` lists) for the keys where Sentry resolves `me` to a user.
_ME_KEYS = re.compile(r"(?<![\w.])(!?)(assigned|assigned_or_suggested|bookmarks):(\[[^\]]*\]|\S+)")


class Triage:
    """Everything the tools do, given one Sentry client and the server's settings."""

    def __init__(self, client: SentryClient, settings: SentrySettings) -> None:
        self.client = client
        self.settings = settings
        self.ui = settings.links_origin

    # -- helpers -----------------------------------------------------------------------------

    def org(self, organization: str | None) -> str:
        org = organization or self.settings.org
        if not org:
            raise ToolError("no organization given and FLEET_SENTRY_ORG is not set; use find_organizations")
        return org

    def sentry_user(self, who: Identity) -> str | None:
        """The caller's Sentry user (email/username/id): mapped, else <subject>@<domain>; None if none."""
        s = self.settings
        account = who.account  # resolved by the gate: user_map entry, username claim, or subject
        if account is None or who.subject in s.user_map:
            return account  # mapped as-is, or none (then `me` is refused)
        if who.subject.startswith("client:"):
            return None  # a machine client has no Sentry user
        return f"{account}@{s.user_email_domain}" if s.user_email_domain else account

    async def project_id(self, org: str, project: str) -> str:
        """A project's numeric id (what Sentry's `project` parameter honours) from its slug or id."""
        if project.isdigit():
            return project
        page = await self.client.projects(org, query=project, limit=100, cursor=None)
        found = next((p for p in page.items if isinstance(p, dict) and p.get("slug") == project), None)
        if found is None or not str(found.get("id", "")).isdigit():
            raise ToolError(f"Not found in Sentry: project {project!r} in {org!r} (see find_projects)")
        return str(found["id"])

    def require_user(self, who: Identity) -> str:
        user = self.sentry_user(who)
        if user is None:
            raise ToolError(f"{who.subject!r} has no Sentry user mapping, so `me` can't be resolved")
        return user

    def rewrite_me(self, query: str, who: Identity) -> str:
        """`assigned:me` would mean the org token's (absent) user: rewrite it to the caller."""

        def swap(match: re.Match[str]) -> str:
            value = match.group(3)
            items = [v.strip() for v in value.strip("[]").split(",")]
            if "me" not in items:
                return match.group(0)
            user = self.require_user(who)
            items = [user if v == "me" else v for v in items]
            new = f"[{', '.join(items)}]" if value.startswith("[") else items[0]
            return f"{match.group(1)}{match.group(2)}:{new}"

        return _ME_KEYS.sub(swap, query)

    def issue_url(self, org: str, raw: dict[str, Any]) -> str:
        return raw.get("permalink") or f"{self.ui}/organizations/{org}/issues/{raw['id']}/"

    def to_issue(self, org: str, raw: dict[str, Any]) -> Issue:
        assigned = raw.get("assignedTo") or None
        if assigned:
            who = assigned.get("email") or assigned.get("name") or assigned.get("id")
            assigned_to = f"#{assigned.get('name')}" if assigned.get("type") == "team" else who
        else:
            assigned_to = None
        return Issue(
            id=str(raw["id"]),
            short_id=raw.get("shortId", ""),
            title=clip(raw.get("title"), 200) or "",
            culprit=clip(raw.get("culprit"), 200),
            level=raw.get("level"),
            status=raw.get("status", "unknown"),
            substatus=raw.get("substatus"),
            project=(raw.get("project") or {}).get("slug", ""),
            events=count(raw.get("count")),
            users=count(raw.get("userCount")),
            first_seen=raw.get("firstSeen"),
            last_seen=raw.get("lastSeen"),
            assigned_to=assigned_to,
            url=self.issue_url(org, raw),
        )

    @staticmethod
    def _frames(stacktrace: dict[str, Any] | None) -> tuple[list[Frame], int]:
        raw = list(reversed(objs(obj(stacktrace).get("frames"))))  # Sentry lists oldest call first
        ordered = [f for f in raw if f.get("inApp")] + [f for f in raw if not f.get("inApp")]
        frames = []
        for f in ordered[:MAX_FRAMES]:
            context = f.get("context") if isinstance(f.get("context"), list) else []
            lines = (c for c in context if isinstance(c, list) and len(c) > 1)
            code = next((c[1] for c in lines if c[0] == f.get("lineNo")), None)
            frames.append(
                Frame(
                    function=f.get("function"),
                    file=f.get("filename") or f.get("absPath") or f.get("module"),
                    line=f.get("lineNo"),
                    in_app=bool(f.get("inApp")),
                    code=clip(code.strip() if isinstance(code, str) else None, 200),
                )
            )
        return frames, max(0, len(ordered) - MAX_FRAMES)

    def to_event(self, org: str, raw: dict[str, Any], project: str | None = None) -> Event:
        # `entries` items are untyped in the spec: skip what isn't an object, and entry types we don't show.
        entries = {e.get("type"): obj(e.get("data")) for e in objs(raw.get("entries"))}
        exceptions = []
        for value in objs(entries.get("exception", {}).get("values")):
            frames, omitted = self._frames(value.get("stacktrace"))
            exceptions.append(
                ExceptionInfo(
                    type=value.get("type"),
                    value=clip(value.get("value")),
                    handled=obj(value.get("mechanism")).get("handled"),
                    frames=frames,
                    frames_omitted=omitted,
                )
            )
        tags = {t["key"]: clip(str(t.get("value")), 100) or "" for t in raw.get("tags") or [] if "key" in t}
        crumbs = objs(entries.get("breadcrumbs", {}).get("values"))
        user = raw.get("user") or {}
        group = raw.get("groupID")
        event_id = raw.get("eventID") or raw.get("id") or ""
        url = (
            f"{self.ui}/organizations/{org}/issues/{group}/events/{event_id}/"
            if group
            else f"{self.ui}/organizations/{org}/discover/results/?query=id:{event_id}"
        )
        return Event(
            event_id=event_id,
            issue_id=str(group) if group else None,
            project=project,
            title=clip(raw.get("title"), 200) or "",
            message=clip(raw.get("message")),
            timestamp=raw.get("dateCreated"),
            platform=raw.get("platform"),
            environment=tags.get("environment"),
            release=tags.get("release") or ((raw.get("release") or {}).get("version")),
            trace_id=((raw.get("contexts") or {}).get("trace") or {}).get("trace_id"),
            user=user.get("email") or user.get("username") or user.get("id"),
            exceptions=exceptions[-3:],  # the last values are the outermost (chained) exceptions
            tags=dict(list(tags.items())[:MAX_TAGS]),
            tags_omitted=max(0, len(tags) - MAX_TAGS),
            breadcrumbs=[
                Breadcrumb(
                    timestamp=c.get("timestamp"),
                    category=c.get("category"),
                    level=c.get("level"),
                    message=clip(c.get("message") or (str(c["data"]) if c.get("data") else None), 200),
                )
                for c in crumbs[-MAX_CRUMBS:]
            ],
            breadcrumbs_omitted=max(0, len(crumbs) - MAX_CRUMBS),
            url=url,
        )

    # -- reads -------------------------------------------------------------------------------

    async def whoami(self, who: Identity, organization: str | None) -> SentryWhoAmI:
        org = await self.client.organization(self.org(organization))
        return SentryWhoAmI(
            subject=who.subject,
            account=who.account,
            scopes=sorted(who.scopes),
            sentry_user=self.sentry_user(who),
            organization=self._org(org),
            api=self.settings.base_url,
            acts_as="one organization auth token; every change also adds a note naming you",
        )

    def _org(self, raw: dict[str, Any]) -> Organization:
        url = f"{self.ui}/organizations/{raw['slug']}/"
        return Organization(slug=raw["slug"], name=raw.get("name", ""), id=str(raw.get("id", "")), url=url)

    async def organizations(self, query: str | None, limit: int, cursor: str | None) -> OrganizationList:
        page = await self.client.organizations(query=query, limit=limit, cursor=cursor)
        return OrganizationList(
            organizations=[self._org(o) for o in page.items], next_cursor=page.next_cursor
        )

    async def projects(
        self, organization: str | None, query: str | None, limit: int, cursor: str | None
    ) -> ProjectList:
        org = self.org(organization)
        page = await self.client.projects(org, query=query, limit=limit, cursor=cursor)
        projects = [
            Project(
                slug=p["slug"],
                name=p.get("name", ""),
                id=str(p.get("id", "")),
                platform=p.get("platform") or None,
                teams=[t["slug"] for t in p.get("teams") or []],
                url=f"{self.ui}/organizations/{org}/projects/{p['slug']}/",
            )
            for p in page.items
        ]
        return ProjectList(organization=org, projects=projects, next_cursor=page.next_cursor)

    async def teams(
        self, organization: str | None, query: str | None, limit: int, cursor: str | None
    ) -> TeamList:
        org = self.org(organization)
        page = await self.client.teams(org, query=query, limit=limit, cursor=cursor)
        teams = [
            Team(
                slug=t["slug"],
                name=t.get("name", ""),
                id=str(t.get("id", "")),
                member_count=t.get("memberCount"),
            )
            for t in page.items
        ]
        return TeamList(organization=org, teams=teams, next_cursor=page.next_cursor)

    async def search_issues(
        self,
        who: Identity,
        organization: str | None,
        query: str,
        *,
        project: str | None,
        environment: str | None,
        sort: str,
        stats_period: str | None,
        limit: int,
        cursor: str | None,
    ) -> IssueList:
        org = self.org(organization)
        sent = self.rewrite_me(query, who)
        # Sentry's own `project` (numeric id: Sentry answers 400 to a slug there) and `environment`
        # parameters, not `project:`/`environment:` terms in the query text.
        page = await self.client.issues(
            org,
            query=sent,
            sort=sort,
            stats_period=stats_period,
            projects=[await self.project_id(org, project)] if project else [],
            environments=[environment] if environment else [],
            limit=limit,
            cursor=cursor,
        )
        issues = [self.to_issue(org, i) for i in page.items]
        return IssueList(organization=org, query=sent, issues=issues, next_cursor=page.next_cursor)

    async def issue(self, organization: str | None, issue: str) -> IssueDetails:
        org = self.org(organization)
        issue_id = await self.client.issue_id(org, issue)
        raw = await self.client.issue(org, issue_id)
        try:
            event = await self.client.issue_event(org, issue_id, "latest")
            latest = self.to_event(org, event, (raw.get("project") or {}).get("slug"))
        except ToolError as exc:
            if isinstance(exc, BackendError) or "Not found" not in str(exc):
                raise
            latest = None  # an issue whose events aged out of retention
        return IssueDetails(
            issue=self.to_issue(org, raw),
            priority=raw.get("priority"),
            first_release=(raw.get("firstRelease") or {}).get("version"),
            comments=count(raw.get("numComments")) or 0,
            latest_event=latest,
        )

    async def event(self, organization: str | None, event_id: str, project: str | None) -> Event:
        org = self.org(organization)
        raw, slug = await self.client.event(org, event_id, project=project)
        return self.to_event(org, raw, slug)

    async def issue_events(
        self,
        organization: str | None,
        issue: str,
        query: str | None,
        stats_period: str | None,
        limit: int,
        cursor: str | None,
    ) -> EventList:
        org = self.org(organization)
        issue_id = await self.client.issue_id(org, issue)
        page = await self.client.issue_events(
            org, issue_id, query=query, stats_period=stats_period, limit=limit, cursor=cursor
        )
        events = []
        for e in page.items:
            tags = {t.get("key"): t.get("value") for t in e.get("tags") or []}
            user = e.get("user") or {}
            event_id = e.get("eventID") or e.get("id")
            events.append(
                EventSummary(
                    event_id=event_id,
                    title=clip(e.get("title"), 200) or "",
                    timestamp=e.get("dateCreated"),
                    environment=tags.get("environment"),
                    release=tags.get("release"),
                    user=user.get("email") or user.get("username") or user.get("id"),
                    url=f"{self.ui}/organizations/{org}/issues/{issue_id}/events/{event_id}/",
                )
            )
        return EventList(issue_id=issue_id, events=events, next_cursor=page.next_cursor)

    async def search_events(
        self,
        organization: str | None,
        *,
        dataset: str,
        fields: list[str],
        query: str | None,
        project: str | None,
        sort: str | None,
        stats_period: str | None,
        limit: int,
        cursor: str | None,
    ) -> DiscoverResult:
        org = self.org(organization)
        rows, _meta, next_cursor = await self.client.discover(
            org,
            dataset=dataset,
            fields=fields,
            query=query,
            sort=sort,
            stats_period=stats_period,
            projects=[await self.project_id(org, project)] if project else [],
            limit=limit,
            cursor=cursor,
        )
        cut = 0
        shaped = []
        for row in rows[:limit]:
            out: dict[str, Any] = {}
            for key, value in row.items():
                if isinstance(value, str) and len(value) > MAX_CELL:
                    value, cut = clip(value, MAX_CELL), cut + 1
                out[key] = value
            shaped.append(out)
        return DiscoverResult(
            organization=org,
            dataset=dataset,
            fields=fields,
            rows=shaped,
            truncated_values=cut,
            next_cursor=next_cursor,
        )

    async def trace(self, organization: str | None, trace_id: str, stats_period: str | None) -> Trace:
        org = self.org(organization)
        roots = await self.client.trace(org, trace_id, stats_period=stats_period)
        if not roots:
            raise ToolError(
                f"Not found in Sentry: trace {trace_id!r} (no spans in the period; try stats_period=30d)"
            )
        spans: list[TraceSpan] = []
        errors: list[TraceError] = []
        total = 0

        def walk(node: dict[str, Any], depth: int) -> None:
            nonlocal total
            total += 1
            for err in node.get("errors") or []:
                errors.append(
                    TraceError(
                        event_id=err.get("event_id", ""),
                        issue=err.get("short_id") or (str(err["issue_id"]) if err.get("issue_id") else None),
                        title=clip(err.get("description") or err.get("title"), 200),
                        level=err.get("level"),
                        project=err.get("project_slug"),
                    )
                )
            if len(spans) < MAX_SPANS:
                spans.append(
                    TraceSpan(
                        depth=depth,
                        op=node.get("op"),
                        description=clip(node.get("description") or node.get("transaction"), 160),
                        project=node.get("project_slug"),
                        duration_ms=node.get("duration"),
                        errors=len(node.get("errors") or []),
                    )
                )
            for child in sorted(node.get("children") or [], key=lambda c: -(c.get("duration") or 0)):
                walk(child, depth + 1)

        for root in roots:
            walk(root, 0)
        return Trace(
            trace_id=trace_id,
            span_count=total,
            spans=spans,
            spans_omitted=total - len(spans),
            errors=errors[:MAX_SPANS],
            url=f"{self.ui}/organizations/{org}/performance/trace/{trace_id}/",
        )

    def release_model(self, org: str, r: dict[str, Any]) -> Release:
        deploy = r.get("lastDeploy") or {}
        return Release(
            version=r["version"],
            short_version=r.get("shortVersion"),
            status=r.get("status"),
            created=r.get("dateCreated"),
            released=r.get("dateReleased"),
            new_issues=r.get("newGroups"),
            commits=r.get("commitCount"),
            deploys=r.get("deployCount"),
            last_deploy=(f"{deploy.get('environment')} at {deploy.get('dateFinished')}" if deploy else None),
            projects=[p.get("slug", "") for p in r.get("projects") or []],
            url=f"{self.ui}/organizations/{org}/releases/{quote(r['version'], safe='')}/",
        )

    async def releases(
        self, organization: str | None, query: str | None, limit: int, cursor: str | None
    ) -> ReleaseList:
        org = self.org(organization)
        page = await self.client.releases(org, query=query, projects=[], limit=limit, cursor=cursor)
        return ReleaseList(
            organization=org,
            releases=[self.release_model(org, r) for r in page.items],
            next_cursor=page.next_cursor,
        )

    async def release(self, organization: str | None, version: str) -> Release:
        org = self.org(organization)
        return self.release_model(org, await self.client.release(org, version))
