"""FAKE NOTES BACKEND — an in-process demo/test stand-in, not a real service.

A tiny ASGI app (Starlette) speaking the backend API `backend.py` uses, so the server runs and is
tested with no backend installed: `fleet dev` serves it when <PREFIX>URL is unset (dev.py), and
the tests build the server on it. It records whom each request acted as (`acted_as`), so a test can
prove the server never acts as anyone but the caller. Replace it with a fake of your real backend,
written from that backend's API documentation, field for field.

    GET  /api/v1/health                        200 {"ok": true}
    GET  /api/v1/notes  X-Acting-As: <account>  200 {"notes": [<the account's>]}
    POST /api/v1/notes  X-Acting-As: <account>  {"title": "..."}  201 <the new note>
                              (200 with the account's note of that title if there is one)
    DELETE /api/v1/notes/<id>  X-Acting-As: <account>  200 {"ok": true}: the account has no such note
                              now (deleted, or it never had one: another account's note is not touched)
    401 without the token, 400 without an account or a title.
    503 {"error": "down for maintenance"} to everything while `outage` is True (a backend that is down).
"""

from __future__ import annotations

import itertools
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .backend import ACT_AS_HEADER

__all__ = ["FAKE_TOKEN", "FakeNotes"]

FAKE_TOKEN = "fake-notes-token"  # noqa: S105 - the fake's own demo credential, not a secret


class FakeNotes:
    """FAKE backend (see the module docstring): state in memory, one instance per test or `fleet dev`."""

    def __init__(self) -> None:
        self.notes: list[dict[str, Any]] = []
        self.acted_as: list[str] = []  # the account of every request that named one, in order
        self.requests = 0
        self.outage = False  # True: answer 503 to every request, as a backend that is down would
        self._ids = itertools.count(1)
        self._app = Starlette(
            routes=[
                Route("/api/v1/health", self._health, methods=["GET"]),
                Route("/api/v1/notes", self._list, methods=["GET"]),
                Route("/api/v1/notes", self._add, methods=["POST"]),
                Route("/api/v1/notes/{id:int}", self._delete, methods=["DELETE"]),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    def _refusal(self, request: Request) -> JSONResponse | None:
        self.requests += 1
        if self.outage:
            return JSONResponse({"error": "down for maintenance"}, 503)
        if request.headers.get("authorization") != f"Bearer {FAKE_TOKEN}":
            return JSONResponse({"error": "bad token"}, 401)
        return None

    def _account(self, request: Request) -> str | None:
        account = request.headers.get(ACT_AS_HEADER, "").strip()
        if account:
            self.acted_as.append(account)
        return account or None

    async def _health(self, request: Request) -> JSONResponse:
        return self._refusal(request) or JSONResponse({"ok": True})

    async def _list(self, request: Request) -> JSONResponse:
        if refused := self._refusal(request):
            return refused
        if (account := self._account(request)) is None:
            return JSONResponse({"error": f"{ACT_AS_HEADER} is required"}, 400)
        return JSONResponse({"notes": [i for i in self.notes if i["owner"] == account]})

    async def _add(self, request: Request) -> JSONResponse:
        if refused := self._refusal(request):
            return refused
        if (account := self._account(request)) is None:
            return JSONResponse({"error": f"{ACT_AS_HEADER} is required"}, 400)
        body = await request.json()
        title = body.get("title") if isinstance(body, dict) else None
        if not isinstance(title, str) or not title.strip():
            return JSONResponse({"error": "title is required"}, 400)
        mine = [i for i in self.notes if i["owner"] == account and i["title"] == title]
        if mine:  # adding is idempotent: the same title again is the one already there
            return JSONResponse(mine[0], 200)
        note = {"id": next(self._ids), "title": title, "owner": account}
        self.notes.append(note)
        return JSONResponse(note, 201)

    async def _delete(self, request: Request) -> JSONResponse:
        if refused := self._refusal(request):
            return refused
        if (account := self._account(request)) is None:
            return JSONResponse({"error": f"{ACT_AS_HEADER} is required"}, 400)
        wanted = request.path_params["id"]
        self.notes = [i for i in self.notes if not (i["owner"] == account and i["id"] == wanted)]
        return JSONResponse({"ok": True})
