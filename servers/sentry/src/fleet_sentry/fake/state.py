"""The fake Sentry's data: one organization with teams, projects, releases, issues and their events,
seeded from the spec's own examples; the shapes every route module shares (actors, paging)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fleet_core.specfake import SpecChecker

from .._openapi import example
from .search import QueryError, iso, now

__all__ = ["FAKE_TOKEN", "ODD_COUNTS", "Call", "PathParams", "Query", "QueryAll", "Reply", "SentryState"]

FAKE_TOKEN = "fake-sentry-token"  # noqa: S105 — the fake's well-known demo token, not a secret
# `count` is typed only `string` in the spec: two issues carry spec-legal counts that aren't plain digits.
ODD_COUNTS = {"1005": "5.0", "1006": "n/a"}


# What a route handler (`_op_<operationId>`) takes and answers: path parameters, the first value of
# each query parameter, all values (and the parsed JSON body); (status, JSON payload, headers).
PathParams = dict[str, str]
Query = dict[str, str]
QueryAll = dict[str, list[str]]
Reply = tuple[int, Any, dict[str, str]]


@dataclass
class Call:
    method: str
    path: str
    query: list[tuple[str, str]]
    body: Any
    operation: str | None


class SentryState:
    """Seeded in-memory state; `FakeSentry` (app.py) creates it, the route mixins read and change it."""

    checker: SpecChecker
    org_slug: str
    page_size_cap: int
    org: dict[str, Any]
    members: dict[str, dict[str, str]]
    teams: list[dict[str, Any]]
    projects: list[dict[str, Any]]
    releases: list[dict[str, Any]]
    issues: dict[str, dict[str, Any]]
    events: dict[str, list[dict[str, Any]]]

    def notes(self, issue_id: str) -> list[str]:
        return [a["data"]["text"] for a in self.issues[issue_id]["activity"] if a["type"] == "note"]

    def _example(self, operation_id: str, status: int = 200) -> Any:
        return copy.deepcopy(example(self.checker.by_id(operation_id), status))

    def _seed(self) -> None:
        moment = now()
        self.autofix_runs: dict[str, dict[str, Any]] = {}
        org = self._example("getOrganization")
        org |= {"id": "1", "slug": self.org_slug, "name": f"{self.org_slug.title()} Inc (fake)"}
        org["links"] = {"organizationUrl": f"https://{self.org_slug}.sentry.example", "regionUrl": ""}
        self.org = org
        self.members = {
            "1": {"id": "1", "name": "Alice Example", "email": "alice@example.com", "username": "alice"},
            "2": {"id": "2", "name": "Bob Example", "email": "bob@example.com", "username": "bob"},
        }
        team_example = self._example("listOrganizationTeams")[0]
        self.teams = [
            team_example | {"id": str(10 + i), "slug": slug, "name": slug.title(), "memberCount": i + 1}
            for i, slug in enumerate(("platform", "payments", "mobile"))
        ]
        for team in self.teams:
            team.pop("projects", None)
        project_example = self._example("listOrganizationProjects")[0]
        self.projects = []
        for i, (slug, platform, team_index) in enumerate(
            (("backend", "python", 0), ("frontend", "javascript", 0), ("checkout", "python", 1))
        ):
            ref = {k: self.teams[team_index][k] for k in ("id", "name", "slug")}
            self.projects.append(
                project_example
                | {
                    "id": str(100 + i),
                    "slug": slug,
                    "name": slug.title(),
                    "platform": platform,
                    "team": ref,
                    "teams": [ref],
                }
            )
        release_example = self._example("listOrganizationReleases")[0]
        self.releases = []
        for i, version in enumerate(("backend@1.0.0", "backend@1.1.0", "frontend@2.0.0")):
            created = moment - timedelta(days=10 - i * 3)
            self.releases.append(
                release_example
                | {
                    "id": i + 1,
                    "version": version,
                    "shortVersion": version,
                    "dateCreated": iso(created),
                    "newGroups": i,
                    "commitCount": 3 + i,
                    "projects": [
                        release_example["projects"][0]
                        | {"id": 100 if version.startswith("backend") else 101, "slug": version.split("@")[0]}
                    ],
                }
            )
        self.issues: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        specs = [
            ("backend", "ZeroDivisionError", "division by zero", "error", "unresolved", None, 120, 7),
            ("backend", "KeyError", "'user_id'", "error", "unresolved", "1", 40, 3),
            ("backend", "TimeoutError", "upstream payments timed out", "warning", "unresolved", None, 15, 2),
            (
                "frontend",
                "TypeError",
                "Cannot read properties of undefined (reading 'id')",
                "error",
                "unresolved",
                "2",
                300,
                51,
            ),
            ("frontend", "ChunkLoadError", "Loading chunk 7 failed", "info", "resolved", None, 5, 5),
            (
                "checkout",
                "PaymentDeclined",
                "card declined: insufficient funds",
                "fatal",
                "ignored",
                None,
                9,
                9,
            ),
        ]
        for n, (project, exc_type, value, level, status, assignee, count, users) in enumerate(specs, start=1):
            self._add_issue(n, project, exc_type, value, level, status, assignee, count, users, moment)

    def _add_issue(
        self,
        n: int,
        project_slug: str,
        exc_type: str,
        value: str,
        level: str,
        status: str,
        assignee: str | None,
        count: int,
        users: int,
        now: datetime,
    ) -> None:
        project = next(p for p in self.projects if p["slug"] == project_slug)
        issue_id = str(1000 + n)
        issue = self._example("getOrganizationIssue")
        issue |= {
            "id": issue_id,
            "shortId": f"{project_slug.upper()}-{n}",
            "title": f"{exc_type}: {value}",
            "culprit": f"app.handlers in handle_{n}",
            "permalink": f"https://{self.org_slug}.sentry.example/issues/{issue_id}/",
            "level": level,
            "status": status,
            "substatus": "ongoing" if status == "unresolved" else None,
            "statusDetails": {},
            "platform": project["platform"],
            "project": {k: project[k] for k in ("id", "name", "slug", "platform")},
            "metadata": {"type": exc_type, "value": value, "title": f"{exc_type}: {value}"},
            "assignedTo": self._actor(assignee),
            "count": ODD_COUNTS.get(issue_id, str(count)),
            "userCount": users,
            "firstSeen": iso(now - timedelta(days=n + 1)),
            "lastSeen": iso(now - timedelta(hours=n * 5)),
            "numComments": 0,
            "activity": [
                {
                    "data": {},
                    "dateCreated": iso(now - timedelta(days=n + 1)),
                    "id": "0",
                    "type": "first_seen",
                    "user": None,
                },
                # activity items are untyped objects in the spec: a regression with a version, a
                # priority change whose data is null, by a user
                *(
                    [
                        {
                            "data": {"version": f"{project_slug}@1.1.0"},
                            "dateCreated": iso(now - timedelta(days=n)),
                            "id": "1",
                            "type": "set_regression",
                            "user": None,
                        },
                        {
                            "data": None,
                            "dateCreated": iso(now - timedelta(hours=n)),
                            "id": "2",
                            "type": "set_priority",
                            "user": {"id": "1", "email": "alice@example.com", "name": "Alice Example"},
                        },
                    ]
                    if n == 1
                    else []
                ),
            ],
        }
        issue["firstRelease"] = issue["firstRelease"] | {
            "version": f"{project_slug}@1.0.0",
            "shortVersion": "1.0.0",
        }
        self.issues[issue_id] = issue
        self.events[issue_id] = [self._make_event(issue, i, now) for i in range(3 if n == 1 else 1)]

    def _make_event(self, issue: dict[str, Any], i: int, now: datetime) -> dict[str, Any]:
        event: dict[str, Any] = self._example("getOrganizationIssueEvent")
        n = int(issue["id"]) - 1000
        event_id = f"{n:02x}{i:02x}" + "e" * 28
        frames = [
            {
                "function": f"lib_call_{k}",
                "filename": f"site-packages/lib/mod{k}.py",
                "absPath": f"/lib/mod{k}.py",
                "module": f"lib.mod{k}",
                "lineNo": 10 + k,
                "colNo": None,
                "inApp": False,
                "context": [[10 + k, "    return fn(*args)"]],
                "vars": None,
            }
            for k in range(20)
        ] + [
            {
                "function": f"handle_{n}",
                "filename": "app/handlers.py",
                "absPath": "/srv/app/handlers.py",
                "module": "app.handlers",
                "lineNo": 40 + n,
                "colNo": None,
                "inApp": True,
                "context": [[40 + n, f"    total = compute(order)  # {issue['metadata']['type']}"]],
                "vars": None,
            },
        ]
        crumbs = [
            {
                "category": "http",
                "level": "info",
                "event_id": None,
                "type": "http",
                "data": {"url": f"/api/{k}"},
                "timestamp": iso(now - timedelta(minutes=30 - k)),
                "message": f"GET /api/{k} 200",
            }
            for k in range(25)
        ]
        trace_id = "a" * 31 + str(n % 10)
        environment = "production" if i == 0 else "staging"
        release = issue["firstRelease"]["version"]
        event |= {
            "id": event_id,
            "eventID": event_id,
            "groupID": issue["id"],
            "projectID": issue["project"]["id"],
            "title": issue["title"],
            "message": issue["metadata"]["value"],
            "platform": issue["platform"],
            "dateCreated": iso(now - timedelta(hours=int(issue["id"]) - 1000 + i)),
            "metadata": {"type": issue["metadata"]["type"], "value": issue["metadata"]["value"]},
            "culprit": issue["culprit"],
            "location": f"app/handlers.py:{40 + n}",
            "tags": [
                {"key": "environment", "value": environment},
                {"key": "level", "value": issue["level"]},
                {"key": "release", "value": release},
                {"key": "server_name", "value": "web-1"},
                *([{"key": "url", "value": "https://shop.example/checkout"}] if i == 0 else []),
            ],
            "user": {
                "id": str(i),
                "email": f"user{i}@customer.example",
                "name": None,
                "username": None,
                "ip_address": None,
                "data": None,
            },
            "contexts": {
                "trace": {"trace_id": trace_id, "span_id": "b" * 16, "type": "trace", "op": "http.server"}
            },
            "entries": [
                {
                    "type": "exception",
                    "data": {
                        "values": [
                            {
                                "type": issue["metadata"]["type"],
                                "value": issue["metadata"]["value"],
                                "module": None,
                                "mechanism": {"type": "generic", "handled": False},
                                "stacktrace": {"frames": frames},
                            },
                        ],
                        "hasSystemFrames": True,
                    },
                },
                {"type": "breadcrumbs", "data": {"values": crumbs}},
                # `entries` items are untyped (`{}`) in the spec: entries that aren't objects, or
                # whose data isn't one, are legal too.
                {"type": "message", "data": {"formatted": issue["metadata"]["value"]}},
                {"type": "debugmeta", "data": None},
                "legacy-entry",
                None,
            ],
            "release": None,
            "previousEventID": None,
            "nextEventID": None,
        }
        return event

    def _actor(self, user_id: str | None) -> dict[str, Any] | None:
        if user_id is None:
            return None
        user = self.members[user_id]
        return {"type": "user", "id": user["id"], "name": user["name"], "email": user["email"]}

    def _resolve_actor(self, value: str) -> dict[str, Any] | None:
        if value == "":
            return None
        if value.startswith("team:") or value.startswith("#"):
            key = value.split(":", 1)[-1].lstrip("#")
            team = next((t for t in self.teams if key in (t["id"], t["slug"])), None)
            if team is None:
                raise QueryError("Unknown actor input")
            return {"type": "team", "id": team["id"], "name": team["slug"], "email": None}
        key = value.removeprefix("user:")
        user = next((u for u in self.members.values() if key in (u["id"], u["email"], u["username"])), None)
        if user is None:
            raise QueryError("Unknown actor input")
        return self._actor(user["id"])

    @staticmethod
    def _public(issue: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in issue.items() if not k.startswith("_")}

    def _issue(self, issue_id: str) -> dict[str, Any]:
        return self.issues[issue_id]  # KeyError → 404

    def _all_events(self) -> list[dict[str, Any]]:
        return [e for events in self.events.values() for e in events]

    def _page(
        self, items: list[Any], one: dict[str, str], size_param: str = "per_page"
    ) -> tuple[int, Any, dict[str, str]]:
        size = max(1, min(int(one.get(size_param, 100)), self.page_size_cap, 100))
        cursor = one.get("cursor", "0:0:0")
        try:
            offset = int(cursor.split(":")[1])
        except (IndexError, ValueError):
            raise QueryError("Invalid cursor parameter.") from None
        chunk = items[offset : offset + size]
        more = offset + size < len(items)
        base = "https://fake.sentry.example/api/0/"
        back = max(0, offset - size)
        prev = f'<{base}>; rel="previous"; results="{str(offset > 0).lower()}"; cursor="0:{back}:1"'
        nxt = f'<{base}>; rel="next"; results="{str(more).lower()}"; cursor="0:{offset + size}:0"'
        return 200, chunk, {"Link": f"{prev}, {nxt}"}

    @staticmethod
    def _project_ids(params: dict[str, list[str]]) -> set[str]:
        # Sentry's `project` parameter takes numeric ids only (get_requested_project_ids_unchecked),
        # although the published spec also says slugs.
        values = params.get("project", [])
        if not all(v.lstrip("-").isdigit() for v in values):
            raise QueryError("Invalid project parameter. Values must be numbers.")
        return set(values)

    @staticmethod
    def _event_environment(event: dict[str, Any]) -> str | None:
        return next((t["value"] for t in event["tags"] if t["key"] == "environment"), None)

    def _environments(self, issue_id: str) -> set[str | None]:
        return {self._event_environment(e) for e in self.events[issue_id]}

    def _discover_row(self, event: dict[str, Any]) -> dict[str, Any]:
        issue = self.issues[event["groupID"]]
        tags = {t["key"]: t["value"] for t in event["tags"]}
        return {
            "id": event["eventID"],
            "title": event["title"],
            "message": event["message"],
            "level": tags["level"],
            "project": issue["project"]["slug"],
            "timestamp": event["dateCreated"],
            "environment": tags["environment"],
            "release": tags["release"],
            "issue": issue["shortId"],
            "issue.id": issue["id"],
            "culprit": event["culprit"],
            "trace": event["contexts"]["trace"]["trace_id"],
            "user.email": event["user"]["email"],
        }
