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
        return 200, detail | {k: release[k] for k in keep}, {}
