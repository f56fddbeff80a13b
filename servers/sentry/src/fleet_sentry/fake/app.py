"""`FakeSentry`: the fake on the shared spec-checked front (`fleet_core.specfake.SpecFake`) — auth,
fault injection (fail, stall), Sentry's error shape — dispatching by operationId to the route mixins;
`serve_fake` serves it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio

from fleet_core import running_app
from fleet_core.specfake import FakeRequest, FakeResponse, Match, SpecFake

from .._openapi import load_checker
from .events import EventRoutes
from .issues import IssueRoutes
from .orgs import OrgRoutes
from .releases import ReleaseRoutes
from .search import QueryError
from .state import FAKE_TOKEN, Call, PathParams, Query, QueryAll, Reply
from .triage import TriageRoutes

__all__ = ["FakeSentry", "serve_fake"]


@dataclass
class _Fault:
    status: int
    times: int
    match: str
    retry_after: str | None = None


class FakeSentry(SpecFake, OrgRoutes, IssueRoutes, EventRoutes, ReleaseRoutes, TriageRoutes):
    """State + ASGI app. `page_size_cap` forces multi-page answers in tests."""

    def __init__(self, *, org: str = "acme", token: str = FAKE_TOKEN, page_size_cap: int = 100) -> None:
        self.checker = load_checker()
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

    # -- the SpecFake hooks ------------------------------------------------------------------

    def record(self, request: FakeRequest, match: Match | None) -> None:
        operation = match.operation.operation_id if match else None
        self.calls.append(Call(request.method, request.raw_path, request.query, request.json, operation))

    async def intercept(self, request: FakeRequest, match: Match | None) -> FakeResponse | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self.error(401, "Invalid token")
        if self.stall_match is not None and self.stall_match in request.raw_path:
            with anyio.move_on_after(30):
                await self.stalled.wait()
        for fault in self.faults:
            if fault.times > 0 and fault.match in request.raw_path:
                fault.times -= 1
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                return FakeResponse(fault.status, {"detail": f"injected HTTP {fault.status}"}, headers)
        return None

    def error(self, status: int, message: str) -> FakeResponse:
        return FakeResponse(status, {"detail": message})

    def refuse(self, errors: list[str], *, unmatched: bool) -> FakeResponse:
        self.violations.extend(errors)
        if unmatched:
            return self.error(404, "The requested resource does not exist")
        return self.error(400, f"fake-sentry: request does not match the OpenAPI spec: {errors[0]}")

    def bad_answer(self, match: Match, response: FakeResponse, errors: list[str]) -> FakeResponse:
        # recorded for the tests (which fail on any), but the answer still goes out as Sentry's would
        self.response_violations.extend(errors)
        return response

    async def dispatch(self, match: Match, request: FakeRequest) -> FakeResponse:
        params: QueryAll = {}
        for name, value in request.query:
            params.setdefault(name, []).append(value)
        path = match.path_params
        try:
            org = path.get("organization_id_or_slug")
            if org is not None and org not in (self.org_slug, self.org["id"]):
                raise LookupError(org)
            handler: Callable[[PathParams, Query, QueryAll, Any], Reply] = getattr(
                self, "_" + match.operation.handler
            )
            status, payload, headers = handler(
                path, {k: v[0] for k, v in params.items()}, params, request.json
            )
        except QueryError as exc:
            return self.error(400, str(exc))
        except (LookupError, StopIteration):  # unknown id in a lookup
            return self.error(404, "The requested resource does not exist")
        return FakeResponse(status, payload, headers)


@contextlib.asynccontextmanager
async def serve_fake(fake: FakeSentry, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve the fake over real loopback HTTP; yields its base URL."""
    try:
        async with running_app(fake, host=host, port=port, lifespan="off") as base:
            yield base
    finally:
        fake.release()
