"""`FakeSentry`: the ASGI front of the fake — spec checks on every request and answer, auth, fault
injection (fail, stall) — dispatching by operationId to the route mixins; `serve_fake` serves it."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio
from starlette.types import Receive, Scope, Send

from fleet_core import running_app

from .._openapi import Operation, load_spec
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


class FakeSentry(OrgRoutes, IssueRoutes, EventRoutes, ReleaseRoutes, TriageRoutes):
    """State + ASGI app. `page_size_cap` forces multi-page answers in tests."""

    def __init__(self, *, org: str = "acme", token: str = FAKE_TOKEN, page_size_cap: int = 100) -> None:
        self.spec = load_spec()
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, payload, headers = await self._handle(scope, body)
        data = json.dumps(payload).encode()
        raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": data})

    async def _handle(self, scope: Scope, body: bytes) -> tuple[int, Any, dict[str, str]]:
        # Route on the raw path, one segment at a time, as an encoded `/` must not split a segment.
        method = scope["method"]
        path = (scope.get("raw_path") or scope["path"].encode()).decode().split("?", 1)[0]
        query = parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True)
        found = self.spec.match(method, path)
        try:
            parsed_body = json.loads(body) if body else None
        except ValueError:
            parsed_body = body.decode(errors="replace")
        self.calls.append(Call(method, path, query, parsed_body, found[0].operation_id if found else None))
        if found is None:
            self.violations.append(f"{method} {path}: no such operation in the spec")
            return 404, {"detail": "The requested resource does not exist"}, {}
        op, raw_params = found
        path_params = {k: unquote(v) for k, v in raw_params.items()}
        problems = op.check_request(path_params, query, body or None)
        if problems:
            self.violations.extend(f"{op.operation_id}: {p}" for p in problems)
            return 400, {"detail": f"fake-sentry: request does not match the OpenAPI spec: {problems[0]}"}, {}
        auth = dict(scope["headers"]).get(b"authorization", b"").decode()
        if auth != f"Bearer {self.token}":
            return 401, {"detail": "Invalid token"}, {}
        if self.stall_match is not None and self.stall_match in path:
            with anyio.move_on_after(30):
                await self.stalled.wait()
        for fault in self.faults:
            if fault.times > 0 and fault.match in path:
                fault.times -= 1
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                return fault.status, {"detail": f"injected HTTP {fault.status}"}, headers
        params: dict[str, list[str]] = {}
        for name, value in query:
            params.setdefault(name, []).append(value)
        try:
            status, payload, headers = self._dispatch(op, path_params, params, parsed_body)
        except QueryError as exc:
            return 400, {"detail": str(exc)}, {}
        except (LookupError, StopIteration):  # unknown id in a lookup
            return 404, {"detail": "The requested resource does not exist"}, {}
        if status < 300:
            self.response_violations += [
                f"{op.operation_id}: {p}" for p in op.check_response(status, payload)
            ]
        return status, payload, headers

    def _dispatch(
        self, op: Operation, path: dict[str, str], params: dict[str, list[str]], body: Any
    ) -> Reply:
        one = {k: v[0] for k, v in params.items()}
        org = path.get("organization_id_or_slug")
        if org is not None and org not in (self.org_slug, self.org["id"]):
            raise LookupError(org)
        handler: Callable[[PathParams, Query, QueryAll, Any], Reply] = getattr(
            self,
            "_op_" + re.sub(r"\W+", "_", op.operation_id),  # some ids are titles
        )
        return handler(path, one, params, body)


@contextlib.asynccontextmanager
async def serve_fake(fake: FakeSentry, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve the fake over real loopback HTTP; yields its base URL."""
    try:
        async with running_app(fake, host=host, port=port, lifespan="off") as base:
            yield base
    finally:
        fake.release()
