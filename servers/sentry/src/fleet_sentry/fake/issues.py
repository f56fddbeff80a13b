"""Fake Sentry routes: issue search, one issue, short ids, updates and notes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .._openapi import fill_required, response_schema
from .search import IS_VALUES, QueryError, as_number, iso, now, parse_search, period
from .state import PathParams, Query, QueryAll, Reply, SentryState


class IssueRoutes(SentryState):
    """Issue routes of `FakeSentry`.

    Handlers (`_op_<operationId>`) take the path parameters, the first value of each query parameter,
    all values, and the JSON body; they return (status, payload, headers).
    """

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

    def _op_listOrganizationIssues(self, path: PathParams, one: Query, params: QueryAll, body: Any) -> Reply:
        terms = parse_search(one.get("query", "is:unresolved"))
        window = period(one.get("statsPeriod"))
        moment = now()
        projects = self._project_ids(params)
        environments = set(params.get("environment", []))
        found = [
            i
            for i in self.issues.values()
            if all(self._matches(i, *t) for t in terms)
            and (not projects or i["project"]["id"] in projects)
            and (not environments or environments & self._environments(i["id"]))
            and (window is None or datetime.fromisoformat(i["lastSeen"]) >= moment - window)
        ]
        order = {"date": "lastSeen", "new": "firstSeen", "freq": "count", "user": "userCount"}.get(
            one.get("sort", "date"), "lastSeen"
        )
        found.sort(
            key=lambda i: as_number(i[order]) if order in ("count", "userCount") else i[order], reverse=True
        )
        item_schema = response_schema(self.checker.by_id("listOrganizationIssues"))["items"]
        return self._page([fill_required(item_schema, self._public(i)) for i in found], one, "limit")

    def _op_getOrganizationIssue(self, path: PathParams, one: Query, params: QueryAll, body: Any) -> Reply:
        return 200, self._public(self._issue(path["issue_id"])), {}

    def _op_resolveOrganizationShortId(
        self, path: PathParams, one: Query, params: QueryAll, body: Any
    ) -> Reply:
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

    def _op_updateOrganizationIssue(self, path: PathParams, one: Query, params: QueryAll, body: Any) -> Reply:
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
                    until = now() + timedelta(minutes=details["ignoreDuration"])
                    issue["statusDetails"] = {"ignoreUntil": iso(until)}
                if "ignoreCount" in details:
                    issue["statusDetails"] |= {"ignoreCount": details["ignoreCount"]}
            if status == "resolvedInNextRelease" or details.get("inNextRelease"):
                issue["statusDetails"] = {"inNextRelease": True}
        if "priority" in body:
            issue["priority"] = body["priority"]
            issue["priorityLockedAt"] = iso(now())
        if "isBookmarked" in body:
            issue["isBookmarked"] = body["isBookmarked"]
        return 200, self._public(issue), {}

    def _op_updateOrganizationIssues(
        self, path: PathParams, one: Query, params: QueryAll, body: Any
    ) -> Reply:
        # Bulk mutation; the fleet uses it only to merge. Like Sentry, merging needs ids of one project,
        # and the issue with the most events becomes the parent.
        issues = [self._issue(i) for i in params.get("id", [])]
        if not body.get("merge"):
            raise QueryError("the fake supports bulk merge only")
        if len(issues) < 2 or len({i["project"]["id"] for i in issues}) != 1:
            raise QueryError("Only issues within the same project can be merged.")
        issues.sort(key=lambda i: as_number(i["count"]), reverse=True)
        parent, children = issues[0], issues[1:]
        for child in children:
            self.events[parent["id"]] += self.events.pop(child["id"])
            del self.issues[child["id"]]
        parent["count"] = str(sum(as_number(i["count"]) for i in issues).__int__())
        return 200, {"merge": {"parent": parent["id"], "children": [c["id"] for c in children]}}, {}

    def _op_createOrganizationIssueNote(
        self, path: PathParams, one: Query, params: QueryAll, body: Any
    ) -> Reply:
        issue = self._issue(path["issue_id"])
        note = {
            "id": str(len(issue["activity"]) + 1),
            "user": None,
            "type": "note",
            "data": {"text": body["text"]},
            "dateCreated": iso(now()),
        }
        issue["activity"].append(note)
        issue["numComments"] += 1
        return 201, note, {}
