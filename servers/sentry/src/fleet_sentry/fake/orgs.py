"""Fake Sentry routes: organizations, projects, teams."""

from __future__ import annotations

from .state import SentryState


class OrgRoutes(SentryState):
    """Organization, project and team routes of `FakeSentry`.

    Handlers (`_op_<operationId>`) take the path parameters, the first value of each query parameter,
    all values, and the JSON body; they return (status, payload, headers).
    """

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
