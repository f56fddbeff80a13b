"""Fake Sentry routes: events of an issue, one event, Discover queries, traces."""

from __future__ import annotations

from typing import Any

from .search import QueryError, parse_search, period
from .state import PathParams, Query, QueryAll, Reply, SentryState


class EventRoutes(SentryState):
    """Event, Discover and trace routes of `FakeSentry`.

    Handlers (`_op_<operationId>`) take the path parameters, the first value of each query parameter,
    all values, and the JSON body; they return (status, payload, headers).
    """

    def _op_listOrganizationIssueEvents(
        self, path: PathParams, one: Query, params: QueryAll, body: Any
    ) -> Reply:
        events = self.events[self._issue(path["issue_id"])["id"]]
        terms = parse_search(one.get("query", ""))
        period(one.get("statsPeriod"))
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

    def _op_getOrganizationIssueEvent(
        self, path: PathParams, one: Query, params: QueryAll, body: Any
    ) -> Reply:
        events = self.events[self._issue(path["issue_id"])["id"]]
        return 200, events[-1] if path["event_id"] == "oldest" else events[0], {}

    def _op_getProjectEvent(self, path: PathParams, one: Query, params: QueryAll, body: Any) -> Reply:
        project = next(p for p in self.projects if path["project_id_or_slug"] in (p["slug"], p["id"]))
        event = next(
            e
            for e in self._all_events()
            if e["eventID"] == path["event_id"] and e["projectID"] == project["id"]
        )
        return 200, event, {}

    def _op_resolveOrganizationEventId(
        self, path: PathParams, one: Query, params: QueryAll, body: Any
    ) -> Reply:
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

    def _op_listOrganizationEvents(self, path: PathParams, one: Query, params: QueryAll, body: Any) -> Reply:
        if one["dataset"] != "errors":
            return 200, {"data": [], "meta": {"fields": {}, "dataset": one["dataset"]}}, {}
        fields = params["field"]
        terms = parse_search(one.get("query", ""))
        period(one.get("statsPeriod"))
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
            for group, members in groups.items():
                row = dict(zip(plain, group, strict=True))
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

    def _op_getOrganizationTrace(self, path: PathParams, one: Query, params: QueryAll, body: Any) -> Reply:
        period(one.get("statsPeriod"))
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
