"""FAKE SENTRY — a demo/test stand-in, not Sentry.

An in-process ASGI app that speaks the part of Sentry's REST API this server uses, written from
Sentry's official OpenAPI spec (the subset carried in `_spec/sentry-subset.json`):

- every request is checked against the spec (path, method, query parameters, body schema); a
  mismatch is answered 400 and recorded in `violations`, so tests fail on any undocumented call;
- answers are built from the spec's own examples and checked against the response schemas
  (`response_violations`);
- pagination with Sentry's `Link` header cursors, Sentry's 400 shape for bad search syntax,
  and injected 429 (with Retry-After), 5xx and stalls.

`fleet dev` serves it as the Sentry backend when no real Sentry is configured (see dev.py).
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio
from starlette.types import Receive, Scope, Send

from fleet_core import running_app

from ._openapi import Operation, fill_required, load_spec

__all__ = ["FAKE_TOKEN", "Call", "FakeSentry", "serve_fake"]

FAKE_TOKEN = "fake-sentry-token"  # noqa: S105 — the fake's well-known demo token, not a secret
_TOKEN = re.compile(r'(!?)([A-Za-z_][\w.]*):("[^"]*"|\[[^\]]*\]|[^\s()]*)|"[^"]*"|[^\s()]+|[()]')
_PERIOD = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
IS_VALUES = (
    "resolved",
    "unresolved",
    "ignored",
    "archived",
    "assigned",
    "unassigned",
    "for_review",
    "linked",
)


# `count` is typed only `string` in the spec: two issues carry spec-legal counts that aren't plain digits.
ODD_COUNTS = {"1005": "5.0", "1006": "n/a"}


def _as_number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


class QueryError(Exception):
    """Sentry's 400 for a search it can't parse."""


@dataclass
class Call:
    method: str
    path: str
    query: list[tuple[str, str]]
    body: Any
    operation: str | None


@dataclass
class _Fault:
    status: int
    times: int
    match: str
    retry_after: str | None = None


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _period(value: str | None) -> timedelta | None:
    if not value:
        return None
    found = _PERIOD.match(value)
    if not found:
        raise QueryError(f"Invalid stats_period. Valid choices are of the form '14d', '24h': got {value!r}")
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def parse_search(query: str) -> list[tuple[bool, str | None, str]]:
    """Sentry search syntax → (negated, key or None for free text, value). Raises QueryError like Sentry."""
    if query.count('"') % 2:
        raise QueryError(f"Parse error at '\"' (column {query.index(chr(34)) + 1}). Unbalanced quotes.")
    depth = 0
    terms: list[tuple[bool, str | None, str]] = []
    for match in _TOKEN.finditer(query):
        text = match.group(0)
        if text in ("(", ")"):
            depth += 1 if text == "(" else -1
            if depth < 0:
                break
            continue
        if match.group(2):
            value = match.group(3).strip('"')
            if not value:
                raise QueryError(f"Empty string after '{match.group(2)}:'")
            terms.append((bool(match.group(1)), match.group(2), value))
        elif text.upper() not in ("AND", "OR"):
            terms.append((False, None, text.strip('"')))
    if depth != 0:
        column = query.rfind("(" if depth > 0 else ")") + 1
        raise QueryError(
            f"Parse error at '{query[column - 1 : column + 9]}' (column {column}). "
            "This is commonly caused by unmatched parentheses. Enclose any text in double quotes."
        )
    return terms


class FakeSentry:
    """State + ASGI app. `page_size_cap` forces multi-page answers in tests."""

    def __init__(self, *, org: str = "acme", token: str = FAKE_TOKEN, page_size_cap: int = 100) -> None:
        self.spec = load_spec()
        self.org_slug = org
        self.token = token
        self.page_size_cap = page_size_cap
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.response_violations: list[str] = []
        self.faults: list[_Fault] = []
        self.stalled = anyio.Event()
        self.stall_match: str | None = None
        self._seed()

    # -- fault injection ---------------------------------------------------------------------

    def fail(
        self, status: int = 503, *, times: int = 1, match: str = "", retry_after: str | None = None
    ) -> None:
        """The next `times` requests whose path contains `match` get `status`."""
        self.faults.append(_Fault(status, times, match, retry_after))

    def stall(self, match: str = "") -> None:
        """Requests whose path contains `match` hang until `release()` (tests of client timeouts)."""
        self.stall_match = match
        self.stalled = anyio.Event()

    def release(self) -> None:
        self.stall_match = None
        self.stalled.set()

    def notes(self, issue_id: str) -> list[str]:
        return [a["data"]["text"] for a in self.issues[issue_id]["activity"] if a["type"] == "note"]

    # -- seed data (from the spec's examples) ------------------------------------------------

    def _example(self, operation_id: str, status: int = 200) -> Any:
        return copy.deepcopy(self.spec.by_id(operation_id).example(status))

    def _seed(self) -> None:
        now = _now()
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
        for i, (slug, platform, team) in enumerate(
            (("backend", "python", 0), ("frontend", "javascript", 0), ("checkout", "python", 1))
        ):
            ref = {k: self.teams[team][k] for k in ("id", "name", "slug")}
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
            created = now - timedelta(days=10 - i * 3)
            self.releases.append(
                release_example
                | {
                    "id": i + 1,
                    "version": version,
                    "shortVersion": version,
                    "dateCreated": _iso(created),
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
            self._add_issue(n, project, exc_type, value, level, status, assignee, count, users, now)

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
            "firstSeen": _iso(now - timedelta(days=n + 1)),
            "lastSeen": _iso(now - timedelta(hours=n * 5)),
            "numComments": 0,
            "activity": [
                {
                    "data": {},
                    "dateCreated": _iso(now - timedelta(days=n + 1)),
                    "id": "0",
                    "type": "first_seen",
                    "user": None,
                }
            ],
        }
        issue["firstRelease"] = issue["firstRelease"] | {
            "version": f"{project_slug}@1.0.0",
            "shortVersion": "1.0.0",
        }
        self.issues[issue_id] = issue
        self.events[issue_id] = [self._make_event(issue, i, now) for i in range(3 if n == 1 else 1)]

    def _make_event(self, issue: dict[str, Any], i: int, now: datetime) -> dict[str, Any]:
        event = self._example("getOrganizationIssueEvent")
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
                "timestamp": _iso(now - timedelta(minutes=30 - k)),
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
            "dateCreated": _iso(now - timedelta(hours=int(issue["id"]) - 1000 + i)),
            "metadata": {"type": issue["metadata"]["type"], "value": issue["metadata"]["value"]},
            "culprit": issue["culprit"],
            "location": f"app/handlers.py:{40 + n}",
            "tags": [
                {"key": "environment", "value": environment},
                {"key": "level", "value": issue["level"]},
                {"key": "release", "value": release},
                {"key": "server_name", "value": "web-1"},
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

    # -- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, payload, headers = await self._handle(scope, body)
        data = json.dumps(payload).encode()
        raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": data})

    async def _handle(self, scope: Scope, body: bytes) -> tuple[int, Any, dict[str, str]]:
        # Route on the raw path, one segment at a time, as an encoded `/` must not split a segment.
        method = scope["method"]
        path = (scope.get("raw_path") or scope["path"].encode()).decode().split("?", 1)[0]
        query = parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True)
        found = self.spec.match(method, path)
        try:
            parsed_body = json.loads(body) if body else None
        except ValueError:
            parsed_body = body.decode(errors="replace")
        self.calls.append(Call(method, path, query, parsed_body, found[0].operation_id if found else None))
        if found is None:
            self.violations.append(f"{method} {path}: no such operation in the spec")
            return 404, {"detail": "The requested resource does not exist"}, {}
        op, raw_params = found
        path_params = {k: unquote(v) for k, v in raw_params.items()}
        problems = op.check_request(path_params, query, body or None)
        if problems:
            self.violations.extend(f"{op.operation_id}: {p}" for p in problems)
            return 400, {"detail": f"fake-sentry: request does not match the OpenAPI spec: {problems[0]}"}, {}
        auth = dict(scope["headers"]).get(b"authorization", b"").decode()
        if auth != f"Bearer {self.token}":
            return 401, {"detail": "Invalid token"}, {}
        if self.stall_match is not None and self.stall_match in path:
            with anyio.move_on_after(30):
                await self.stalled.wait()
        for fault in self.faults:
            if fault.times > 0 and fault.match in path:
                fault.times -= 1
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                return fault.status, {"detail": f"injected HTTP {fault.status}"}, headers
        params: dict[str, list[str]] = {}
        for name, value in query:
            params.setdefault(name, []).append(value)
        try:
            status, payload, headers = self._dispatch(op, path_params, params, parsed_body)
        except QueryError as exc:
            return 400, {"detail": str(exc)}, {}
        except (LookupError, StopIteration):  # unknown id in a lookup
            return 404, {"detail": "The requested resource does not exist"}, {}
        if status < 300:
            self.response_violations += [
                f"{op.operation_id}: {p}" for p in op.check_response(status, payload)
            ]
        return status, payload, headers

    # -- handlers ----------------------------------------------------------------------------

    def _dispatch(
        self, op: Operation, path: dict[str, str], params: dict[str, list[str]], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        one = {k: v[0] for k, v in params.items()}
        org = path.get("organization_id_or_slug")
        if org is not None and org not in (self.org_slug, self.org["id"]):
            raise LookupError(org)
        handler = getattr(self, "_op_" + op.operation_id)
        return handler(path, one, params, body)

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
    def _public(issue: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in issue.items() if not k.startswith("_")}

    def _op_listOrganizations(self, path, one, params, body):
        labs = self.org | {
            "id": "2",
            "slug": f"{self.org_slug}-labs",
            "name": f"{self.org_slug.title()} Labs (fake)",
        }
        q = one.get("query", "")
        return self._page([o for o in (self.org, labs) if q in o["slug"]], one)

    def _op_getOrganization(self, path, one, params, body):
        return 200, self.org, {}

    def _op_listOrganizationProjects(self, path, one, params, body):
        q = one.get("query", "").lower()
        return self._page([p for p in self.projects if q in p["slug"] or q in p["name"].lower()], one)

    def _op_listOrganizationTeams(self, path, one, params, body):
        q = one.get("query", "").lower()
        return self._page([t for t in self.teams if q in t["slug"]], one)

    def _matches(self, issue: dict[str, Any], negated: bool, key: str | None, value: str) -> bool:
        if key is None:
            hit = value.lower() in (issue["title"] + " " + (issue["culprit"] or "")).lower()
        elif key == "is":
            if value not in IS_VALUES:
                raise QueryError(f'Invalid value for "is" search, valid values are {sorted(IS_VALUES)}')
            assigned = issue["assignedTo"] is not None
            hit = {
                "assigned": assigned,
                "unassigned": not assigned,
                "archived": issue["status"] == "ignored",
            }.get(value, issue["status"] == value)
        elif key in ("assigned", "assigned_or_suggested"):
            actor = issue["assignedTo"]
            options = [v.strip() for v in value.strip("[]").split(",")]
            hit = any(
                (opt == "none" and actor is None)
                or (
                    actor is not None
                    and opt.lstrip("#")
                    in (
                        actor["id"],
                        actor.get("email"),
                        actor["name"],
                        self.members.get(actor["id"], {}).get("username"),
                    )
                )
                for opt in options
            )
        elif key == "level":
            hit = issue["level"] in value.strip("[]").split(",")
        elif key == "project":
            hit = issue["project"]["slug"] == value
        elif key == "release":
            hit = issue["firstRelease"]["version"] == value
        else:  # unknown keys are tag searches in Sentry
            tags = {t["key"]: t["value"] for e in self.events[issue["id"]] for t in e["tags"]}
            hit = tags.get(key) == value
        return hit != negated

    def _op_listOrganizationIssues(self, path, one, params, body):
        terms = parse_search(one.get("query", "is:unresolved"))
        window = _period(one.get("statsPeriod"))
        now = _now()
        projects = self._project_ids(params)
        environments = set(params.get("environment", []))
        found = [
            i
            for i in self.issues.values()
            if all(self._matches(i, *t) for t in terms)
            and (not projects or i["project"]["id"] in projects)
            and (not environments or environments & self._environments(i["id"]))
            and (window is None or datetime.fromisoformat(i["lastSeen"]) >= now - window)
        ]
        order = {"date": "lastSeen", "new": "firstSeen", "freq": "count", "user": "userCount"}.get(
            one.get("sort", "date"), "lastSeen"
        )
        found.sort(
            key=lambda i: _as_number(i[order]) if order in ("count", "userCount") else i[order], reverse=True
        )
        item_schema = self.spec.by_id("listOrganizationIssues").response_schema()["items"]
        return self._page([fill_required(item_schema, self._public(i)) for i in found], one, "limit")

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

    def _issue(self, issue_id: str) -> dict[str, Any]:
        return self.issues[issue_id]  # KeyError → 404

    def _op_getOrganizationIssue(self, path, one, params, body):
        return 200, self._public(self._issue(path["issue_id"])), {}

    def _op_resolveOrganizationShortId(self, path, one, params, body):
        issue = next(i for i in self.issues.values() if i["shortId"].lower() == path["issue_id"].lower())
        answer = self._example("resolveOrganizationShortId")
        answer |= {
            "organizationSlug": self.org_slug,
            "projectSlug": issue["project"]["slug"],
            "groupId": issue["id"],
            "shortId": issue["shortId"],
            "group": self._public(issue),
        }
        return 200, answer, {}

    def _op_updateOrganizationIssue(self, path, one, params, body):
        issue = self._issue(path["issue_id"])
        if "assignedTo" in body:
            issue["assignedTo"] = self._resolve_actor(body["assignedTo"])
        if "status" in body:
            status = body["status"]
            details = body.get("statusDetails", {})
            issue["status"] = "resolved" if status == "resolvedInNextRelease" else status
            issue["statusDetails"] = {}
            issue["substatus"] = "ongoing" if status == "unresolved" else None
            if status == "ignored":
                issue["substatus"] = "archived_until_condition_met" if details else "archived_forever"
                if "ignoreDuration" in details:
                    until = _now() + timedelta(minutes=details["ignoreDuration"])
                    issue["statusDetails"] = {"ignoreUntil": _iso(until)}
                if "ignoreCount" in details:
                    issue["statusDetails"] |= {"ignoreCount": details["ignoreCount"]}
            if status == "resolvedInNextRelease" or details.get("inNextRelease"):
                issue["statusDetails"] = {"inNextRelease": True}
        return 200, self._public(issue), {}

    def _op_createOrganizationIssueNote(self, path, one, params, body):
        issue = self._issue(path["issue_id"])
        note = {
            "id": str(len(issue["activity"]) + 1),
            "user": None,
            "type": "note",
            "data": {"text": body["text"]},
            "dateCreated": _iso(_now()),
        }
        issue["activity"].append(note)
        issue["numComments"] += 1
        return 201, note, {}

    def _op_listOrganizationIssueEvents(self, path, one, params, body):
        events = self.events[self._issue(path["issue_id"])["id"]]
        terms = parse_search(one.get("query", ""))
        _period(one.get("statsPeriod"))
        keys = (
            "eventID",
            "tags",
            "dateCreated",
            "user",
            "message",
            "title",
            "id",
            "platform",
            "groupID",
            "location",
            "culprit",
            "projectID",
            "metadata",
        )
        rows = []
        for event in events:
            tags = {t["key"]: t["value"] for t in event["tags"]}
            if all(
                (tags.get(k) == v if k else v.lower() in event["title"].lower()) != neg for neg, k, v in terms
            ):
                rows.append({k: event[k] for k in keys} | {"event.type": "error", "crashFile": None})
        return self._page(rows, one)

    def _op_getOrganizationIssueEvent(self, path, one, params, body):
        events = self.events[self._issue(path["issue_id"])["id"]]
        return 200, events[-1] if path["event_id"] == "oldest" else events[0], {}

    def _all_events(self) -> list[dict[str, Any]]:
        return [e for events in self.events.values() for e in events]

    def _op_getProjectEvent(self, path, one, params, body):
        project = next(p for p in self.projects if path["project_id_or_slug"] in (p["slug"], p["id"]))
        event = next(
            e
            for e in self._all_events()
            if e["eventID"] == path["event_id"] and e["projectID"] == project["id"]
        )
        return 200, event, {}

    def _op_resolveOrganizationEventId(self, path, one, params, body):
        event = next(e for e in self._all_events() if e["eventID"] == path["event_id"])
        project = next(p for p in self.projects if p["id"] == event["projectID"])
        answer = {
            "organizationSlug": self.org_slug,
            "projectSlug": project["slug"],
            "groupId": event["groupID"],
            "eventId": event["eventID"],
            "event": event,
        }
        return 200, answer, {}

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

    def _op_listOrganizationEvents(self, path, one, params, body):
        if one["dataset"] != "errors":
            return 200, {"data": [], "meta": {"fields": {}, "dataset": one["dataset"]}}, {}
        fields = params["field"]
        terms = parse_search(one.get("query", ""))
        _period(one.get("statsPeriod"))
        projects = self._project_ids(params)
        environments = set(params.get("environment", []))
        rows = [
            self._discover_row(e)
            for e in self._all_events()
            if (not projects or e["projectID"] in projects)
            and (not environments or self._event_environment(e) in environments)
        ]
        for neg, key, value in terms:
            if key is not None and rows and key not in rows[0] and key != "has":
                continue  # a tag this fake doesn't carry: no match either way in Sentry terms
            rows = [
                r
                for r in rows
                if (
                    value.lower() in r["title"].lower()
                    if key is None
                    else (bool(r.get(value)) if key == "has" else str(r.get(key)) == value)
                )
                != neg
            ]
        functions = [f for f in fields if "(" in f]
        for f in functions:
            if f.split("(")[0] not in ("count", "count_unique", "last_seen"):
                raise QueryError(f"{f} is not a valid function")
        plain = [f for f in fields if "(" not in f]
        if functions:
            groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
            for r in rows:
                groups.setdefault(tuple(r.get(f) for f in plain), []).append(r)
            out = []
            for key, members in groups.items():
                row = dict(zip(plain, key, strict=True))
                for f in functions:
                    name, arg = f.split("(")[0], f.split("(")[1].rstrip(")")
                    row[f] = {
                        "count": len(members),
                        "last_seen": max(m["timestamp"] for m in members),
                        "count_unique": len({m.get(arg if arg != "user" else "user.email") for m in members}),
                    }[name]
                out.append(row)
            rows = out
        else:
            rows = [{f: r.get(f) for f in fields} for r in rows]
        sort = one.get("sort")
        if sort:
            column = sort.lstrip("-")
            if column not in fields:
                raise QueryError("Cannot sort by a field that is not selected.")
            rows.sort(key=lambda r: (r.get(column) is None, r.get(column)), reverse=sort.startswith("-"))
        status, chunk, headers = self._page(rows, one)
        meta = {"fields": {f: "integer" if f.startswith("count") else "string" for f in fields}, "units": {}}
        return status, {"data": chunk, "meta": meta}, headers

    def _op_getOrganizationTrace(self, path, one, params, body):
        _period(one.get("statsPeriod"))
        events = [e for e in self._all_events() if e["contexts"]["trace"]["trace_id"] == path["trace_id"]]
        if not events:
            return 200, [], {}
        span = self._example("getOrganizationTrace")[0]
        root = span | {
            "additional_attributes": {},
            "region_name": "us",
            "event_id": "f" * 32,
            "transaction": "POST /checkout",
            "description": "POST /checkout",
            "op": "http.server",
            "project_slug": "backend",
            "duration": 840.0,
            "children": [],
        }
        for k in range(60):
            root["children"].append(
                span
                | {
                    "event_id": f"{k:032x}",
                    "op": "db.query",
                    "is_transaction": False,
                    "description": f"SELECT * FROM orders WHERE id = {k}",  # noqa: S608 — span text, not a query
                    "parent_span_id": root["event_id"],
                    "duration": 3.5,
                    "children": [],
                }
            )
        root["errors"] = [
            {
                "event_id": e["eventID"],
                "event_type": "error",
                "issue_id": int(e["groupID"]),
                "issue_type": 1,
                "level": "error",
                "culprit": e["culprit"],
                "short_id": self.issues[e["groupID"]]["shortId"],
                "description": e["title"],
                "project_id": int(e["projectID"]),
                "project_slug": "backend",
                "transaction": "POST /checkout",
                "start_timestamp": 1776277351.1,
                "end_timestamp": 1776277351.1,
            }
            for e in events
        ]
        return 200, [root], {}

    def _op_listOrganizationReleases(self, path, one, params, body):
        q = one.get("query", "")
        projects = set(params.get("project", []))
        found = [
            r
            for r in reversed(self.releases)
            if q in r["version"] and (not projects or {str(p["id"]) for p in r["projects"]} & projects)
        ]
        return self._page(found, one)

    def _op_getOrganizationRelease(self, path, one, params, body):
        release = next(r for r in self.releases if r["version"] == path["version"])
        detail = self._example("getOrganizationRelease")
        keep = ("id", "version", "shortVersion", "dateCreated", "newGroups", "commitCount", "projects")
        return 200, detail | {k: release[k] for k in keep}, {}


@contextlib.asynccontextmanager
async def serve_fake(fake: FakeSentry, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve the fake over real loopback HTTP; yields its base URL."""
    try:
        async with running_app(fake, host=host, port=port, lifespan="off") as base:
            yield base
    finally:
        fake.release()
