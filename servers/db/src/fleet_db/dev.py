"""The `fleet dev` hook: a throwaway PostgreSQL with the demo schema under the dev work dir."""

from __future__ import annotations

import contextlib
import pathlib
import secrets
from collections.abc import AsyncIterator

import anyio

from fleet_core import DevBackendUnavailable

from .embedded import EmbeddedPostgres, EmbeddedUnavailable
from .provision import provision

__all__ = ["backend"]


@contextlib.asynccontextmanager
async def backend(workdir: pathlib.Path) -> AsyncIterator[dict[str, str]]:
    """Start the embedded cluster, provision roles + demo data; yield FLEET_DB_DATABASE_URL; stop on exit."""
    try:
        pg = await anyio.to_thread.run_sync(EmbeddedPostgres, workdir)
        await anyio.to_thread.run_sync(pg.__enter__)
    except EmbeddedUnavailable as exc:
        raise DevBackendUnavailable(str(exc)) from exc
    try:
        url = await anyio.to_thread.run_sync(
            lambda: provision(pg.admin_url, password=secrets.token_urlsafe(24))
        )
        yield {"FLEET_DB_DATABASE_URL": url}
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(pg.cleanup)
