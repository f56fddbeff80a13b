"""`FakeGitea`: the ASGI front of the fake — auth, Sudo, spec checks on every request and answer,
fault injection (fail_next, stall, redirect) — dispatching by operationId to the route mixins;
`serve_fake` serves it over loopback HTTP."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from fleet_core import bind_loopback, running_app

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
    RepoRoutes, IssueRoutes, PullRoutes, ReleaseRoutes, ActionRoutes, WikiRoutes, ReviewRoutes, ManageRoutes
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
        self.checker = checker or SpecChecker()
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
        if hasattr(self, "_release"):
            self._release.set()  # let any request still held by `stall` finish
        self._release = anyio.Event()
        self._ids = itertools.count(1000)
        self.users = {"alice": 1, "bob": 2, "carol": 3, ADMIN: 99}
        self.repos: dict[str, FRepo] = {}
        self._seed()

    # ---------------------------------------------------------------- ASGI
    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        request = Request(scope, receive)
        response = await self._handle(request)
        await response(scope, receive, send)

    def close(self) -> None:
        self._release.set()

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        sudo = request.headers.get("sudo")
        raw_path = request.scope.get("raw_path", b"").decode() or request.url.path
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode(errors="replace")
        self.requests.append(
            RecordedRequest(
                request.method,
                raw_path.split("?", 1)[0],  # as sent: escaping is part of what tests check
                request.url.query,
                sudo,
                parsed,
                request.headers.get("authorization"),
            )
        )
        if self.stall:
            release = self._release
            with anyio.move_on_after(30):
                await release.wait()
            if release is not self._release:  # reset() meanwhile: don't touch the next test's data
                return JSONResponse({"message": "fake reset while this request was held", "url": ""}, 503)
        if self.redirect:
            return Response(status_code=301, headers={"Location": f"{request.url.path}/moved"})
        if self.fail_next:
            status = self.fail_next.pop(0)
            headers = {"Retry-After": "0"} if status == 429 else {}
            return JSONResponse({"message": "injected failure", "url": ""}, status, headers)
        if request.headers.get("authorization") != f"token {self.token}":
            return JSONResponse({"message": "token is required", "url": ""}, 401)
        match, errors = self.checker.match(request.method, raw_path.split("?", 1)[0])
        if match is None:
            return self._violation(errors)
        query = parse_qsl(request.url.query, keep_blank_values=True)
        errors = self.checker.check_request(match, query, body, request.headers.get("content-type", ""))
        if errors:
            return self._violation(errors)
        if sudo is None and match.operation.operation_id != "getVersion":
            return self._violation([f"{request.method} {request.url.path}: no Sudo header"])
        actor = sudo or ADMIN
        if actor not in self.users:
            return JSONResponse({"message": f"user does not exist [name: {actor}]", "url": ""}, 404)
        handler = getattr(self, f"op_{match.operation.operation_id}")
        try:
            status, payload, headers = await handler(actor, match.path_params, dict(query), parsed, request)
        except FakeError as e:
            return JSONResponse({"message": e.message, "url": ""}, e.status)
        payload = _clean(payload)
        check = payload
        if match.operation.operation_id == "repoGetContents" and isinstance(payload, list):
            check = payload[0] if payload else None  # a directory answers a list of ContentsResponse
        errors = self.checker.check_response(match, status, check)
        if errors:
            return self._violation(errors)
        if isinstance(payload, str):
            return PlainTextResponse(payload, status, headers)
        if payload is None:
            return Response(status_code=status, headers=headers)
        return JSONResponse(payload, status, headers)

    def _violation(self, errors: list[str]) -> Response:
        self.violations.extend(errors)
        return JSONResponse({"message": "fake-gitea spec violation: " + "; ".join(errors), "url": ""}, 400)

    # ---------------------------------------------------------------- operations (by operationId)
    async def op_getVersion(self, actor: str, p: PathParams, q: Query, body: Any, req: Request) -> Reply:
        return 200, {"version": "1.25.0+fleet-fake"}, {}

    async def op_userGetCurrent(self, actor: str, p: PathParams, q: Query, body: Any, req: Request) -> Reply:
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
