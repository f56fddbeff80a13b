"""`FakeGitea`: the fake on the shared spec-checked front (`fleet_core.specfake.SpecFake`) — auth, Sudo,
fault injection (fail_next, stall, redirect), Gitea's error shape — dispatching by operationId to the
route mixins; `serve_fake` serves it over loopback HTTP."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.types import Receive, Scope, Send

from fleet_core import bind_loopback, running_app
from fleet_core.specfake import FakeRequest, FakeResponse, Match, SpecFake

from ..fake_spec import SpecChecker
from .actions import ActionRoutes
from .issues import IssueRoutes
from .manage import ManageRoutes
from .pulls import PullRoutes
from .releases import ReleaseRoutes
from .repos import RepoRoutes
from .review import ReviewRoutes
from .state import ADMIN, FakeError, FRepo, PathParams, Query, RecordedRequest, Reply, _clean
from .wiki import WikiRoutes


class FakeGitea(
    SpecFake,
    RepoRoutes,
    IssueRoutes,
    PullRoutes,
    ReleaseRoutes,
    ActionRoutes,
    WikiRoutes,
    ReviewRoutes,
    ManageRoutes,
):
    """In-memory Gitea with seeded demo data; `app` is its ASGI application."""

    _release: anyio.Event  # set by reset(); releases requests held by `stall`

    def __init__(
        self,
        token: str = "fake-admin-token",  # noqa: S107 - the fake's own demo token
        *,
        checker: SpecChecker | None = None,
    ) -> None:
        self.token = token
        self.checker: SpecChecker = checker or SpecChecker()
        self.base_url = "http://127.0.0.1"
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.fail_next: list[int] = []  # statuses to answer with, one per coming request
        self.stall = False  # hold every request until close() (slow-backend tests)
        self.redirect = False  # answer every request with a 301 (redirect-guard tests)
        self.reset()

    def reset(self) -> None:
        """Back to the seeded state: fresh data, no recorded requests, no injected faults."""
        self.requests.clear()
        self.violations.clear()
        self.fail_next.clear()
        self.stall = self.redirect = False
        self.retry_after = "0"  # the Retry-After an injected 429 carries
        if hasattr(self, "_release"):
            self._release.set()  # let any request still held by `stall` finish
        self._release = anyio.Event()
        self._ids = itertools.count(1000)
        self.users = {"alice": 1, "bob": 2, "carol": 3, ADMIN: 99}
        self.repos: dict[str, FRepo] = {}
        self._seed()

    # ---------------------------------------------------------------- the SpecFake hooks
    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI application (the shared SpecFake front)."""
        await self(scope, receive, send)

    def close(self) -> None:
        self._release.set()

    def record(self, request: FakeRequest, match: Match | None) -> None:
        query = "&".join(f"{k}={v}" for k, v in request.query)
        auth, sudo = request.headers.get("authorization"), request.headers.get("sudo")
        # the path as sent: escaping is part of what tests check
        self.requests.append(
            RecordedRequest(request.method, request.raw_path, query, sudo, request.json, auth)
        )

    async def intercept(self, request: FakeRequest, match: Match | None) -> FakeResponse | None:
        if self.stall:
            release = self._release
            with anyio.move_on_after(30):
                await release.wait()
            if release is not self._release:  # reset() meanwhile: don't touch the next test's data
                return self.error(503, "fake reset while this request was held")
        if self.redirect:
            return FakeResponse(301, None, {"Location": f"{request.raw_path}/moved"})
        if self.fail_next:
            status = self.fail_next.pop(0)
            response = self.error(status, "injected failure")
            response.headers = {"Retry-After": self.retry_after} if status == 429 else {}
            return response
        if request.headers.get("authorization") != f"token {self.token}":
            return self.error(401, "token is required")
        return None

    def error(self, status: int, message: str) -> FakeResponse:
        return FakeResponse(status, {"message": message, "url": ""})

    def refuse(self, errors: list[str], *, unmatched: bool) -> FakeResponse:
        self.violations.extend(errors)
        return self.error(400, "fake-gitea spec violation: " + "; ".join(errors))

    def checked_payload(self, match: Match, response: FakeResponse) -> Any:
        if match.operation.operation_id == "repoGetContents" and isinstance(response.payload, list):
            return response.payload[0] if response.payload else None  # a directory: a list of entries
        return response.payload

    async def dispatch(self, match: Match, request: FakeRequest) -> FakeResponse:
        sudo = request.headers.get("sudo")
        if sudo is None and match.operation.operation_id != "getVersion":
            return self.refuse([f"{request.method} {request.raw_path}: no Sudo header"], unmatched=False)
        actor = sudo or ADMIN
        if actor not in self.users:
            return self.error(404, f"user does not exist [name: {actor}]")
        handler = getattr(self, match.operation.handler)
        try:
            status, payload, headers = await handler(
                actor, match.path_params, dict(request.query), request.json, request
            )
        except FakeError as e:
            return self.error(e.status, e.message)
        return FakeResponse(status, _clean(payload), headers)

    # ---------------------------------------------------------------- operations (by operationId)
    async def op_getVersion(self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest) -> Reply:
        return 200, {"version": "1.25.0+fleet-fake"}, {}

    async def op_userGetCurrent(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        return 200, self.user(actor), {}


@contextlib.asynccontextmanager
async def serve_fake(fake: FakeGitea) -> AsyncIterator[str]:
    """Serve the fake over real loopback HTTP; yields its base URL (no /api/v1)."""
    sock = bind_loopback()  # bound first: the fake must know its own URL (Link headers, clone URLs)
    fake.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        async with running_app(
            fake.app, sock=sock, lifespan="off", interface="asgi3", timeout_graceful_shutdown=2
        ) as url:
            yield url
    finally:
        fake.close()
