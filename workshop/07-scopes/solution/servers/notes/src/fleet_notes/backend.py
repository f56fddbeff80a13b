"""The thin async client of the backend's HTTP API: one service credential, acting as the caller.

Every request carries the server's token and the caller's account name in `X-Acting-As`, so the
backend applies that account's permissions. Replace this with your backend's own way of acting as a user
(Gitea: `Sudo`; PostgreSQL: `SET LOCAL ROLE`; an API without one: a per-user filter here and a note).
A timeout, a refused connection or a 5xx is a BackendError (not the caller's fault); a 4xx a ToolError
with the backend's message. Reads are retried (Retry-After honoured); writes never are.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import httpx2

from fleet_core import BackendError, RetryPolicy, ToolError

from .models import Note
from .settings import NAME, PREFIX, NotesSettings

__all__ = ["ACT_AS_HEADER", "NotesClient"]

ACT_AS_HEADER = "X-Acting-As"
_RETRYABLE = frozenset({429, 502, 503, 504})


class NotesClient:
    def __init__(
        self,
        settings: NotesSettings,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx2.AsyncClient(
            base_url=settings.url + "/api/v1",
            headers={"Authorization": f"Bearer {settings.token.get_secret_value()}"},
            timeout=settings.timeout_seconds,
            transport=transport,
            trust_env=False,
        )
        self._retry = RetryPolicy(retries=settings.max_retries)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def ping(self) -> None:
        """/readyz: the backend answers and takes the token."""
        await self._request("GET", "/health")

    async def list_notes(self, account: str) -> list[Note]:
        body = await self._request("GET", "/notes", account=account)
        return [Note.model_validate(entry) for entry in body["notes"]]

    async def add_note(self, account: str, title: str) -> Note:
        body = await self._request("POST", "/notes", account=account, json={"title": title})
        return Note.model_validate(body)

    async def delete_note(self, account: str, note_id: int) -> None:
        await self._request("DELETE", f"/notes/{note_id}", account=account)

    # --8<-- [start:act-as]
    async def _request(self, method: str, path: str, *, account: str | None = None, json: Any = None) -> Any:
        headers = {ACT_AS_HEADER: account} if account is not None else {}
        # --8<-- [end:act-as]
        retries, read = self._retry.start(), method == "GET"
        while True:
            try:
                response = await self._http.request(method, path, headers=headers, json=json)
            except httpx2.TimeoutException as exc:
                if read and await retries.wait():
                    continue
                raise BackendError(f"{NAME} backend timed out") from exc
            except httpx2.TransportError as exc:
                raise BackendError(f"{NAME} backend unreachable: {exc.__class__.__name__}") from exc
            if read and response.status_code in _RETRYABLE and await retries.wait(response.headers):
                continue
            break
        if response.status_code >= 500 or response.status_code == 429:
            raise BackendError(f"{NAME} backend answered HTTP {response.status_code}; try again later")
        if response.status_code == 401:
            raise BackendError(f"{NAME} backend refused the server's token ({PREFIX}TOKEN)")
        if response.status_code >= 400:
            raise ToolError(f"{NAME} backend refused: {_message(response)}")
        return response.json()


def _message(response: httpx2.Response) -> str:
    try:
        return str(response.json()["error"])[:300]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"
