"""Fake Sentry routes for triage: an issue's tags, event counts over time, user feedback, Seer autofix.

Tag and count answers are computed from the seeded events, and include the spec-legal shapes that are
easy to get wrong: a null tag value (events without the tag), a null count, string ids."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .search import QueryError, iso, now, parse_search, period
from .state import PathParams, Query, QueryAll, Reply, SentryState

HOUR = 3600


class TriageRoutes(SentryState):
    """Triage routes of `FakeSentry`.

    Handlers (`_op_<operationId>`) take the path parameters, the first value of each query parameter,
    all values, and the JSON body; they return (status, payload, headers).
    """

    autofix_runs: dict[str, dict[str, Any]]

    def _tag_counts(self, issue_id: str, key: str, environments: set[str]) -> list[dict[str, Any]]:
        events = [
            e for e in self.events[self._issue(issue_id)["id"]]
            if not environments or self._event_environment(e) in environments
        ]  # fmt: skip
        values: dict[str | None, list[str]] = {}
        for event in events:
            tags = {t["key"]: t["value"] for t in event["tags"]}
            value = event["user"]["email"] if key == "user" else tags.get(key)
            values.setdefault(value, []).append(event["dateCreated"])
        if set(values) == {None}:
            raise LookupError(key)  # Sentry: 404 for a key the issue has no values for
        rows = [
            {
                "key": key,
                "name": key.title(),
                "value": value,
                "query": None if value is None else f'{key}:"{value}"',
                "count": len(seen),
                "firstSeen": min(seen),
                "lastSeen": max(seen),
            }
            for value, seen in values.items()
        ]
        return sorted(rows, key=lambda r: -r["count"])

    def _op_getOrganizationIssueTag(self, path: PathParams, one: Query, params: QueryAll, body: Any) -> Reply:
        rows = self._tag_counts(path["issue_id"], path["key"], set(params.get("environment", [])))
        return (
            200,
            {
                "key": path["key"],
                "name": path["key"].title(),
                "uniqueValues": len([r for r in rows if r["value"] is not None]),
                "totalValues": sum(r["count"] for r in rows),
                "topValues": rows[:9],
            },
            {},
        )

    def _op_listOrganizationIssueTagValues(
        self, path: PathParams, one: Query, params: QueryAll, body: Any
    ) -> Reply:
        rows = self._tag_counts(path["issue_id"], path["key"], set(params.get("environment", [])))
        if one.get("sort") == "date":
            rows.sort(key=lambda r: r["lastSeen"], reverse=True)
        return 200, rows, {}

    def _op_listOrganizationEventsTimeseries(
        self, path: PathParams, one: Query, params: QueryAll, body: Any
    ) -> Reply:
        if one.get("dataset", "errors") != "errors" or one.get("yAxis", "count()") != "count()":
            raise QueryError("the fake counts error events only: yAxis count()")
        window = period(one.get("statsPeriod", "24h")) or timedelta(hours=24)
        step = HOUR if window <= timedelta(days=2) else 24 * HOUR
        end = now()
        start = end - window
        projects = self._project_ids(params)
        environments = set(params.get("environment", []))
        terms = parse_search(one.get("query", ""))
        rows = []
        for event in self._all_events():
            issue = self.issues.get(event["groupID"])
            if issue is None or (projects and event["projectID"] not in projects):
                continue
            if environments and self._event_environment(event) not in environments:
                continue
            row = self._discover_row(event)
            if all(
                (str(row.get(k)) == v if k else v.lower() in row["title"].lower()) != neg
                for neg, k, v in terms
            ):
                rows.append(row)
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        group_by = params.get("groupBy", [])
        for row in rows:
            groups.setdefault(tuple(row.get(g) for g in group_by), []).append(row)
        top = int(one.get("topEvents", "0")) or None
        ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))[: top or None]
        series = []
        for order, (key, members) in enumerate(ordered or [((), [])]):
            buckets = []
            moment = start
            while moment < end:
                n = sum(
                    1
                    for m in members
                    if moment <= datetime.fromisoformat(m["timestamp"]) < moment + timedelta(seconds=step)
                )
                buckets.append({"timestamp": moment.timestamp() * 1000, "value": n, "incomplete": False})
                moment += timedelta(seconds=step)
            buckets[-1]["incomplete"] = True
            series.append(
                {
                    "yAxis": "count()",
                    "values": buckets,
                    "groupBy": [{"key": g, "value": v} for g, v in zip(group_by, key, strict=True)],
                    "meta": {
                        "valueType": "integer",
                        "valueUnit": None,
                        "interval": step * 1000,
                        "order": order,
                    },
                }
            )
        meta = {"dataset": "errors", "start": start.timestamp() * 1000, "end": end.timestamp() * 1000}
        return 200, {"timeSeries": series, "meta": meta}, {}

    def _op_List_a_Project_s_User_Feedback(
        self, path: PathParams, one: Query, params: QueryAll, body: Any
    ) -> Reply:
        project = next(p for p in self.projects if path["project_id_or_slug"] in (p["slug"], p["id"]))
        rows: list[dict[str, Any]] = []
        for issue in self.issues.values():
            if issue["project"]["id"] != project["id"]:
                continue
            event = self.events[issue["id"]][0]
            rows.append(
                {
                    "id": str(len(rows) + 1),
                    "comments": f"It broke while I was using {issue['culprit']}.",
                    "dateCreated": event["dateCreated"],
                    "email": event["user"]["email"],
                    "name": "",
                    "event": {"eventID": event["eventID"], "id": None},
                    "eventID": event["eventID"],
                    # spec-legal: `issue` is an untyped, nullable object
                    "issue": {"id": issue["id"], "shortId": issue["shortId"]} if len(rows) % 2 == 0 else None,
                    "user": None,
                }
            )
        return self._page(rows, one)

    def _op_getOrganizationIssueAutofixState(
        self, path: PathParams, one: Query, params: QueryAll, body: Any
    ) -> Reply:
        issue = self._issue(path["issue_id"])
        run = self.autofix_runs.get(issue["id"])
        if run is None:
            return 200, {"autofix": None}, {}
        answer: dict[str, Any] = {"autofix": run}
        if one.get("llmFormat"):
            content = (
                f"# Root cause\n\n{issue['title']} in `{issue['culprit']}`: analysis {run['status'].lower()}."
            )
            answer["formatted"] = {"format": one["llmFormat"], "content": content}
        return 200, answer, {}

    def _op_startOrganizationIssueAutofix(
        self, path: PathParams, one: Query, params: QueryAll, body: Any
    ) -> Reply:
        issue = self._issue(path["issue_id"])
        run_id = 7000 + len(self.autofix_runs)
        self.autofix_runs[issue["id"]] = {
            "run_id": run_id,
            "status": "PROCESSING",
            "last_triggered_at": iso(now()),
            "request": {"referrer": body.get("referrer"), "user_context": body.get("user_context")},
            "steps": [],
        }
        return 202, {"run_id": run_id, "sentry_run_id": None}, {}
