"""Fake Sentry routes: releases."""

from __future__ import annotations

from .state import SentryState


class ReleaseRoutes(SentryState):
    """Release routes of `FakeSentry`.

    Handlers (`_op_<operationId>`) take the path parameters, the first value of each query parameter,
    all values, and the JSON body; they return (status, payload, headers).
    """

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
