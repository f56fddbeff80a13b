"""Fake Sentry routes: organizations, projects, teams."""

from __future__ import annotations

from typing import Any

from .state import PathParams, Query, QueryAll, Reply, SentryState


class OrgRoutes(SentryState):
    """Organization, project and team routes of `FakeSentry`.

    Handlers (`_op_<operationId>`) take the path parameters, the first value of each query parameter,
    all values, and the JSON body; they return (status, payload, headers).
    """

    def _op_listOrganizations(self, path: PathParams, one: Query, params: QueryAll, body: Any) -> Reply:
        labs = self.org | {
            "id": "2",
            "slug": f"{self.org_slug}-labs",
            "name": f"{self.org_slug.title()} Labs (fake)",
        }
        q = one.get("query", "")
        return self._page([o for o in (self.org, labs) if q in o["slug"]], one)

    def _op_getOrganization(self, path: PathParams, one: Query, params: QueryAll, body: Any) -> Reply:
        return 200, self.org, {}

    def _op_listOrganizationProjects(
        self, path: PathParams, one: Query, params: QueryAll, body: Any
    ) -> Reply:
        q = one.get("query", "").lower()
        return self._page([p for p in self.projects if q in p["slug"] or q in p["name"].lower()], one)

    def _op_listOrganizationTeams(self, path: PathParams, one: Query, params: QueryAll, body: Any) -> Reply:
        q = one.get("query", "").lower()
        return self._page([t for t in self.teams if q in t["slug"]], one)
