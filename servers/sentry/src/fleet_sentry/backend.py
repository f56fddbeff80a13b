"""A thin typed async client over Sentry's REST API (/api/0/), with the failure modes made explicit.

- Cursor pagination from `Link` headers (`rel="next"; results="true"; cursor="…"`).
- 429 waits out `Retry-After` when it is short (bounded), for any method: Sentry did not process it.
- Reads are retried on timeouts, connection errors and 5xx (bounded); writes never are, since a
  write that timed out may have landed.
- Bad input / not found → ToolError quoting Sentry; unreachable / timeout / 5xx → BackendError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx2

from fleet_core import BackendError, BackendHTTP, RetryPolicy, ToolError

from .settings import SentrySettings

__all__ = ["Page", "SentryClient", "parse_next_cursor"]

JSON = Any
MAX_PAGE = 100  # Sentry's largest page
MAX_PAGES = 10  # one tool call never walks more than this many pages
_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[a-zA-Z_]+\s*=\s*\"[^\"]*\")*)")
_PARAM = re.compile(r"([a-zA-Z_]+)\s*=\s*\"([^\"]*)\"")


@dataclass(frozen=True, slots=True)
class Page:
    items: list[JSON]
    next_cursor: str | None


def parse_next_cursor(link_header: str | None) -> str | None:
    """The cursor of the `rel="next"` link, if Sentry says it has results."""
    for match in _LINK.finditer(link_header or ""):
        params = dict(_PARAM.findall(match.group(2)))
        if params.get("rel") == "next":
            return params.get("cursor") if params.get("results") == "true" and params.get("cursor") else None
    return None


def _segment(value: str) -> str:
    # Path segments come from tool arguments: encode them, and refuse dot-segments outright.
    if value in ("", ".", ".."):
        raise ToolError(f"invalid identifier {value!r}")
    return quote(value, safe="")


def _detail(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason_phrase)[:300]
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        if isinstance(detail, dict):
            detail = detail.get("message") or detail
        return str(detail)[:500]
    return str(body)[:500]


class SentryClient:
    """One org token, one base URL; every call names the organization explicitly."""

    def __init__(
        self, settings: SentrySettings, *, transport: httpx2.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._http = BackendHTTP(
            "Sentry",
            base_url=settings.base_url,
            headers={
                "Authorization": f"Bearer {settings.auth_token.get_secret_value()}",
                "Accept": "application/json",
                "User-Agent": "fleet-sentry/0.1",
            },
            timeout=httpx2.Timeout(settings.timeout_seconds, connect=min(5.0, settings.timeout_seconds)),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> SentryClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- transport ---------------------------------------------------------------------------

    async def _request(
        self, method: str, path: str, *, what: str, params: dict[str, Any] | None = None, body: JSON = None
    ) -> httpx2.Response:
        s = self.settings
        read = method == "GET"
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != []}
        retries = RetryPolicy(
            retries=s.max_retries,
            backoff_seconds=s.retry_backoff_seconds,
            max_backoff_seconds=max(2.0, s.retry_backoff_seconds),
            max_retry_after_seconds=s.max_retry_after_seconds,
        ).start()
        while True:
            try:
                response = await self._http.request(method, path, params=clean, json=body)
            except httpx2.TimeoutException:
                if read and await retries.wait():
                    continue
                raise BackendError(f"Sentry did not answer within {s.timeout_seconds:g}s ({what})") from None
            except httpx2.TransportError as exc:
                if read and await retries.wait():
                    continue
                raise BackendError(f"Sentry is unreachable at {s.base_url} ({type(exc).__name__})") from None
            status = response.status_code
            if status == 429:  # Sentry did not process it: any method may be resent
                if await retries.wait(response.headers):
                    continue
                wait = retries.retry_after if retries.retry_after is not None else 1.0
                raise BackendError(f"Sentry rate limit reached; retry after {wait:g}s ({what})")
            if status >= 500:
                if read and await retries.wait(response.headers):
                    continue
                raise BackendError(f"Sentry failed with HTTP {status} ({what})")
            if status < 300:
                return response
            detail = _detail(response)
            if status == 401:
                raise BackendError(
                    "Sentry refused the server's auth token (401); check FLEET_SENTRY_AUTH_TOKEN"
                )
            if status == 403:
                raise ToolError(f"Sentry denied access to {what} (403): {detail}")
            if status == 404:
                raise ToolError(f"Not found in Sentry: {what}")
            raise ToolError(f"Sentry rejected the request for {what} ({status}): {detail}")

    async def _get(self, path: str, *, what: str, params: dict[str, Any] | None = None) -> JSON:
        return (await self._request("GET", path, what=what, params=params)).json()

    async def _collect(
        self,
        path: str,
        *,
        what: str,
        params: dict[str, Any] | None = None,
        limit: int,
        cursor: str | None = None,
        size_param: str = "per_page",
    ) -> Page:
        """Walk `Link` cursors until `limit` items; each request asks for just what is still missing,
        so pages never need cutting and the returned cursor continues exactly after the last item."""
        items: list[JSON] = []
        for _ in range(MAX_PAGES):
            want = min(limit - len(items), MAX_PAGE)
            query = {**(params or {}), size_param: want, "cursor": cursor}
            response = await self._request("GET", path, what=what, params=query)
            page = response.json()
            if not isinstance(page, list):
                raise BackendError(f"Sentry answered {what} with an unexpected shape")
            items.extend(page[:want])
            cursor = parse_next_cursor(response.headers.get("link"))
            if cursor is None or len(items) >= limit:
                break
        return Page(items, cursor)

    # -- organizations, projects, teams ------------------------------------------------------

    async def organizations(self, *, query: str | None, limit: int, cursor: str | None) -> Page:
        return await self._collect(
            "/api/0/organizations/", what="organizations", params={"query": query}, limit=limit, cursor=cursor
        )

    async def organization(self, org: str) -> JSON:
        return await self._get(f"/api/0/organizations/{_segment(org)}/", what=f"organization {org!r}")

    async def projects(self, org: str, *, query: str | None, limit: int, cursor: str | None) -> Page:
        path = f"/api/0/organizations/{_segment(org)}/projects/"
        return await self._collect(
            path, what=f"projects of {org!r}", params={"query": query}, limit=limit, cursor=cursor
        )

    async def teams(self, org: str, *, query: str | None, limit: int, cursor: str | None) -> Page:
        path = f"/api/0/organizations/{_segment(org)}/teams/"
        return await self._collect(
            path, what=f"teams of {org!r}", params={"query": query}, limit=limit, cursor=cursor
        )

    # -- issues ------------------------------------------------------------------------------

    async def issues(
        self,
        org: str,
        *,
        query: str,
        sort: str,
        stats_period: str | None,
        projects: list[str],
        environments: list[str],
        limit: int,
        cursor: str | None,
    ) -> Page:
        params = {
            "query": query,
            "sort": sort,
            "statsPeriod": stats_period,
            "project": projects,
            "environment": environments,
        }
        path = f"/api/0/organizations/{_segment(org)}/issues/"
        return await self._collect(
            path, what=f"issues of {org!r}", params=params, limit=limit, cursor=cursor, size_param="limit"
        )

    async def issue_id(self, org: str, issue: str) -> str:
        """Sentry's numeric issue id for a numeric id or a short id such as PROJ-12."""
        if issue.isdigit():
            return issue
        found = await self._get(
            f"/api/0/organizations/{_segment(org)}/shortids/{_segment(issue)}/", what=f"issue {issue!r}"
        )
        return str(found["groupId"])

    async def issue(self, org: str, issue_id: str) -> JSON:
        return await self._get(
            f"/api/0/organizations/{_segment(org)}/issues/{_segment(issue_id)}/", what=f"issue {issue_id!r}"
        )

    async def issue_event(self, org: str, issue_id: str, which: str = "latest") -> JSON:
        path = f"/api/0/organizations/{_segment(org)}/issues/{_segment(issue_id)}/events/{_segment(which)}/"
        return await self._get(path, what=f"{which} event of issue {issue_id!r}")

    async def issue_events(
        self,
        org: str,
        issue_id: str,
        *,
        query: str | None,
        stats_period: str | None,
        limit: int,
        cursor: str | None,
    ) -> Page:
        path = f"/api/0/organizations/{_segment(org)}/issues/{_segment(issue_id)}/events/"
        params = {"query": query, "statsPeriod": stats_period}
        return await self._collect(
            path, what=f"events of issue {issue_id!r}", params=params, limit=limit, cursor=cursor
        )

    async def update_issue(self, org: str, issue_id: str, changes: dict[str, Any]) -> JSON:
        path = f"/api/0/organizations/{_segment(org)}/issues/{_segment(issue_id)}/"
        return (await self._request("PUT", path, what=f"issue {issue_id!r}", body=changes)).json()

    async def add_note(self, org: str, issue_id: str, text: str) -> JSON:
        path = f"/api/0/organizations/{_segment(org)}/issues/{_segment(issue_id)}/comments/"
        return (
            await self._request("POST", path, what=f"notes of issue {issue_id!r}", body={"text": text})
        ).json()

    # -- events, traces, releases ------------------------------------------------------------

    async def event(self, org: str, event_id: str, *, project: str | None) -> tuple[JSON, str | None]:
        """An event and its project slug; without a project, Sentry's event-id lookup finds it."""
        if project:
            path = f"/api/0/projects/{_segment(org)}/{_segment(project)}/events/{_segment(event_id)}/"
            return await self._get(path, what=f"event {event_id!r} in project {project!r}"), project
        found = await self._get(
            f"/api/0/organizations/{_segment(org)}/eventids/{_segment(event_id)}/", what=f"event {event_id!r}"
        )
        return found["event"], found.get("projectSlug")

    async def discover(
        self,
        org: str,
        *,
        dataset: str,
        fields: list[str],
        query: str | None,
        sort: str | None,
        stats_period: str | None,
        projects: list[str],
        limit: int,
        cursor: str | None,
    ) -> tuple[list[JSON], dict[str, Any], str | None]:
        params = {
            "dataset": dataset,
            "field": fields,
            "query": query,
            "sort": sort,
            "statsPeriod": stats_period,
            "project": projects,
            "per_page": min(limit, MAX_PAGE),
            "cursor": cursor,
        }
        path = f"/api/0/organizations/{_segment(org)}/events/"
        response = await self._request("GET", path, what=f"events of {org!r}", params=params)
        body = response.json()
        return body.get("data", []), body.get("meta", {}), parse_next_cursor(response.headers.get("link"))

    async def trace(self, org: str, trace_id: str, *, stats_period: str | None) -> list[JSON]:
        path = f"/api/0/organizations/{_segment(org)}/trace/{_segment(trace_id)}/"
        roots = await self._get(path, what=f"trace {trace_id!r}", params={"statsPeriod": stats_period})
        if not isinstance(roots, list):  # the spec's answer is an array of root spans
            raise BackendError(
                f"Sentry answered trace {trace_id!r} with a {type(roots).__name__}, not a list"
            )
        return roots

    async def releases(
        self, org: str, *, query: str | None, projects: list[str], limit: int, cursor: str | None
    ) -> Page:
        path = f"/api/0/organizations/{_segment(org)}/releases/"
        params = {"query": query, "project": projects}
        return await self._collect(
            path, what=f"releases of {org!r}", params=params, limit=limit, cursor=cursor
        )

    async def release(self, org: str, version: str) -> JSON:
        path = f"/api/0/organizations/{_segment(org)}/releases/{_segment(version)}/"
        return await self._get(path, what=f"release {version!r}")

    # -- triage: tags, counts over time, release details, feedback, bulk changes, Seer -------

    async def issue_tag(self, org: str, issue_id: str, key: str, *, environments: list[str]) -> JSON:
        path = f"/api/0/organizations/{_segment(org)}/issues/{_segment(issue_id)}/tags/{_segment(key)}/"
        return await self._get(
            path, what=f"tag {key!r} of issue {issue_id!r}", params={"environment": environments}
        )

    async def issue_tag_values(
        self, org: str, issue_id: str, key: str, *, sort: str | None, environments: list[str]
    ) -> JSON:
        path = (
            f"/api/0/organizations/{_segment(org)}/issues/{_segment(issue_id)}/tags/{_segment(key)}/values/"
        )
        params = {"sort": sort, "environment": environments}
        return await self._get(path, what=f"values of tag {key!r} of issue {issue_id!r}", params=params)

    async def timeseries(
        self,
        org: str,
        *,
        query: str | None,
        y_axis: str,
        stats_period: str | None,
        projects: list[str],
        environments: list[str],
        group_by: list[str],
        top_events: int | None,
    ) -> JSON:
        params = {
            "dataset": "errors",
            "query": query,
            "yAxis": y_axis,
            "statsPeriod": stats_period,
            "project": projects,
            "environment": environments,
            "groupBy": group_by,
            "topEvents": top_events,
            "sort": f"-{y_axis}" if top_events else None,
        }
        path = f"/api/0/organizations/{_segment(org)}/events-timeseries/"
        return await self._get(path, what=f"event counts of {org!r}", params=params)

    async def release_health(
        self, org: str, version: str, *, project: str | None, period: str | None
    ) -> JSON:
        path = f"/api/0/organizations/{_segment(org)}/releases/{_segment(version)}/"
        params = {"health": True, "adoptionStages": True, "project": project, "summaryStatsPeriod": period}
        return await self._get(path, what=f"health of release {version!r}", params=params)

    async def release_commits(self, org: str, version: str, *, limit: int, cursor: str | None) -> Page:
        path = f"/api/0/organizations/{_segment(org)}/releases/{_segment(version)}/commits/"
        return await self._walk(path, what=f"commits of release {version!r}", limit=limit, cursor=cursor)

    async def release_deploys(self, org: str, version: str, *, limit: int, cursor: str | None) -> Page:
        path = f"/api/0/organizations/{_segment(org)}/releases/{_segment(version)}/deploys/"
        return await self._walk(path, what=f"deploys of release {version!r}", limit=limit, cursor=cursor)

    async def user_feedback(self, org: str, project: str, *, limit: int, cursor: str | None) -> Page:
        path = f"/api/0/projects/{_segment(org)}/{_segment(project)}/user-feedback/"
        return await self._walk(
            path, what=f"user feedback of project {project!r}", limit=limit, cursor=cursor
        )

    async def update_issues(self, org: str, issue_ids: list[str], changes: dict[str, Any]) -> JSON:
        """Sentry's bulk mutation (`?id=…&id=…`), e.g. `{"merge": true}`."""
        path = f"/api/0/organizations/{_segment(org)}/issues/"
        response = await self._request(
            "PUT", path, what=f"issues {', '.join(issue_ids)}", params={"id": issue_ids}, body=changes
        )
        return response.json() if response.content else {}

    async def autofix_state(self, org: str, issue_id: str) -> JSON:
        path = f"/api/0/organizations/{_segment(org)}/issues/{_segment(issue_id)}/autofix/"
        return await self._get(
            path, what=f"Seer autofix of issue {issue_id!r}", params={"llmFormat": "markdown"}
        )

    async def start_autofix(self, org: str, issue_id: str, body: dict[str, Any]) -> JSON:
        path = f"/api/0/organizations/{_segment(org)}/issues/{_segment(issue_id)}/autofix/"
        response = await self._request("POST", path, what=f"Seer autofix of issue {issue_id!r}", body=body)
        return response.json()

    async def _walk(self, path: str, *, what: str, limit: int, cursor: str | None) -> Page:
        """Whole pages of an endpoint that takes only `cursor` (no page size) until `limit` items: pages
        are never cut, so the cursor returned continues exactly after the last item."""
        items: list[JSON] = []
        for _ in range(MAX_PAGES):
            response = await self._request("GET", path, what=what, params={"cursor": cursor})
            page = response.json()
            if not isinstance(page, list):
                raise BackendError(f"Sentry answered {what} with an unexpected shape")
            items.extend(page)
            cursor = parse_next_cursor(response.headers.get("link"))
            if cursor is None or len(items) >= limit:
                break
        return Page(items, cursor)
