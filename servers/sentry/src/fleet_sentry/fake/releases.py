"""Fake Sentry routes: releases."""

from __future__ import annotations

from typing import Any

from .state import PathParams, Query, QueryAll, Reply, SentryState


class ReleaseRoutes(SentryState):
    """Release routes of `FakeSentry`.

    Handlers (`_op_<operationId>`) take the path parameters, the first value of each query parameter,
    all values, and the JSON body; they return (status, payload, headers).
    """

    def _op_listOrganizationReleases(
        self, path: PathParams, one: Query, params: QueryAll, body: Any
    ) -> Reply:
        q = one.get("query", "")
        projects = set(params.get("project", []))
        found = [
            r
            for r in reversed(self.releases)
            if q in r["version"] and (not projects or {str(p["id"]) for p in r["projects"]} & projects)
        ]
        return self._page(found, one)

    def _op_getOrganizationRelease(self, path: PathParams, one: Query, params: QueryAll, body: Any) -> Reply:
        release = next(r for r in self.releases if r["version"] == path["version"])
        detail = self._example("getOrganizationRelease")
        keep = ("id", "version", "shortVersion", "dateCreated", "newGroups", "commitCount", "projects")
        answer = detail | {k: release[k] for k in keep}
        if one.get("health") == "true":
            # Release health per project; crash-free users is nullable in the spec, and null here.
            answer["projects"] = [
                p
                | {
                    "hasHealthData": True,
                    "healthData": {
                        "hasHealthData": True,
                        "crashFreeSessions": 99.25,
                        "crashFreeUsers": None,
                        "totalSessions": 1200,
                        "totalUsers": 310,
                        "sessionsCrashed": 9,
                        "sessionsErrored": 21,
                        "adoption": 42.5,
                        "stats": {},
                    },
                }
                for p in answer["projects"]
                if "project" not in one or one["project"] in (str(p["id"]), p["slug"])
            ]
        return 200, answer, {}

    def _release(self, version: str) -> dict[str, Any]:
        return next(r for r in self.releases if r["version"] == version)

    def _op_listOrganizationReleaseCommits(
        self, path: PathParams, one: Query, params: QueryAll, body: Any
    ) -> Reply:
        release = self._release(path["version"])
        example = self._example("listOrganizationReleaseCommits")[0]
        rows = [
            example
            | {
                "id": f"{release['id']:02d}{k:038x}",
                "message": f"Change {k} for {release['version']}\n\nDetails.",
                "dateCreated": release["dateCreated"],
                "pullRequest": None,
                "releases": [],
            }
            for k in range(release["commitCount"])
        ]
        return self._page(rows, one)

    def _op_listOrganizationReleaseDeploys(
        self, path: PathParams, one: Query, params: QueryAll, body: Any
    ) -> Reply:
        release = self._release(path["version"])
        rows = [
            {
                "id": str(release["id"] * 10 + k),
                "environment": env,
                "dateStarted": None,
                "dateFinished": release["dateCreated"],
                "name": None,
                "url": None,
            }
            for k, env in enumerate(("staging", "production"))
        ]
        return self._page(rows, one)
