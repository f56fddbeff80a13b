"""The backend: a psycopg pool whose every checkout is one transaction *as the caller* (the PostgREST model).

Per call: BEGIN [READ ONLY] → set_config(fleet.subject, fleet.claims, timeouts) → SET LOCAL ROLE <role> (one
round trip, pipelined) → the caller's single statement → COMMIT/ROLLBACK → reset of anything session-level
the statement may have left behind (advisory locks, LISTEN, prepared statements, SET, cursors).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.types.string import TextLoader
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from psycopg_pool.base import AttemptWithBackoff

from fleet_core import BackendError, Identity, ToolError

from .settings import DbSettings

__all__ = ["CallContext", "Database", "call_context"]

logger = logging.getLogger("fleet.db")

# Returned as PostgreSQL's own text so results stay exact and JSON-ready (no float rounding, no tz games).
_AS_TEXT = (
    "numeric", "money", "date", "time", "timetz", "timestamp", "timestamptz", "interval", "uuid", "inet",
    "cidr", "macaddr", "bytea", "oid", "xid", "tid", "pg_lsn", "bit", "varbit", "tsvector", "tsquery",
    "point", "line", "lseg", "box", "path", "polygon", "circle", "int4range", "int8range", "numrange",
    "tsrange", "tstzrange", "daterange", "int4multirange", "int8multirange", "nummultirange",
    "tsmultirange", "tstzmultirange", "datemultirange", "hstore",
)  # fmt: skip

# Session state a statement can leave on a pooled connection even after ROLLBACK/COMMIT.
_RESET = b"RESET ROLE; RESET ALL; CLOSE ALL; DEALLOCATE ALL; UNLISTEN *; SELECT pg_advisory_unlock_all()"


@dataclass(frozen=True)
class CallContext:
    """Who the transaction acts as: the database role, the account name (fleet.subject) and the claims."""

    role: str
    subject: str
    claims: Mapping[str, Any]


def call_context(who: Identity, roles: Mapping[str, str], account: str) -> CallContext:
    """The role for the caller's scopes (first mapped scope wins); unmapped → a clear error.
    `account` is the caller's account name: it goes to fleet.subject, so RLS policies see the username
    (the stable `sub`, with AuthGate a UUID, stays in fleet.claims)."""
    for scope, role in roles.items():
        if who.has_scope(scope):
            claims = {
                "sub": who.subject,
                "account": account,
                "scope": " ".join(sorted(who.scopes)),
                "iss": who.issuer,
                "aud": list(who.audience),
                "client_id": who.client_id,
                "jti": who.token_id,
                "exp": int(who.expires_at.timestamp()),
            }
            return CallContext(role=role, subject=account, claims=claims)
    raise ToolError(f"no database role is mapped to your scopes ({' '.join(sorted(who.scopes)) or 'none'})")


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    for name in _AS_TEXT:
        info = conn.adapters.types.get(name)
        if info is not None:  # arrays of these load element by element through the same loader
            conn.adapters.register_loader(info.oid, TextLoader)


# While the database is known to be down (finding 12.9): how long a call waits for a connection before it
# is told so, and the longest pause between the pool's reconnection attempts (psycopg_pool doubles its
# pause without bound: PostgreSQL back for seconds, calls still refused).
DOWN_WAIT_SECONDS = 0.5
MAX_RECONNECT_PAUSE = 1.0


class _QuickRetry(AttemptWithBackoff):
    INITIAL_DELAY = 0.25

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, MAX_RECONNECT_PAUSE)


class _Pool(AsyncConnectionPool[psycopg.AsyncConnection[Any]]):
    """psycopg's pool, remembering why the last connection attempt failed (None once one succeeds) and
    retrying at least every MAX_RECONNECT_PAUSE seconds."""

    down: str | None = None

    async def _connect(
        self,
        timeout: float | None = None,  # noqa: ASYNC109 - psycopg_pool's own signature
    ) -> psycopg.AsyncConnection[Any]:
        try:
            conn: psycopg.AsyncConnection[Any] = await super()._connect(timeout)
        except psycopg.Error as exc:
            self.down = _first_line(exc)
            raise
        self.down = None
        return conn

    async def _add_connection(self, attempt: AttemptWithBackoff | None, growing: bool = False) -> None:
        await super()._add_connection(attempt or _QuickRetry(timeout=self.reconnect_timeout), growing)


class Database:
    """A pool of connections as the login role; `session()` hands out one caller-scoped transaction."""

    def __init__(self, settings: DbSettings, url: str | None = None) -> None:
        conninfo = url or (settings.database_url.get_secret_value() if settings.database_url else "")
        if not conninfo:
            raise ValueError("no database URL (set FLEET_DB_DATABASE_URL)")
        self.settings = settings
        self._type_names: dict[int, str] = {}
        self.pool = _Pool(
            conninfo,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            timeout=settings.pool_timeout_seconds,
            kwargs={
                "autocommit": True,  # we send BEGIN ourselves: one round trip with the setup
                "prepare_threshold": None,  # DEALLOCATE ALL in the reset would orphan psycopg's cache
                "connect_timeout": settings.connect_timeout_seconds,
                "application_name": "fleet-db",
            },
            configure=_configure,
            open=False,
            name="fleet-db",
        )

    async def open(self) -> None:
        """Start the pool (idempotent; done lazily on first use, inside the serving event loop)."""
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    async def name_types(self, columns: list[Any]) -> None:
        """Give columns of non-built-in types (enums, domains, composites: shown as an OID) their names.

        Looked up after the caller's transaction, on a pooled connection, and cached."""
        unknown = {int(c.type) for c in columns if c.type.isdigit() and int(c.type) not in self._type_names}
        if unknown:
            try:
                async with self.pool.connection(timeout=self.settings.pool_timeout_seconds) as conn:
                    cur = await conn.execute(
                        "SELECT oid::int8, format_type(oid, NULL) FROM pg_type WHERE oid = ANY(%s)",
                        [list(unknown)],
                    )
                    self._type_names.update({oid: name for oid, name in await cur.fetchall()})
            except (psycopg.Error, PoolTimeout):
                return  # the OID stays: names are a nicety, never a reason to fail the call
        for column in columns:
            if column.type.isdigit():
                column.type = self._type_names.get(int(column.type), column.type)

    async def ready(self) -> None:
        await self.open()
        async with self.pool.connection(timeout=DOWN_WAIT_SECONDS if self.pool.down else 5) as conn:
            await conn.execute("SELECT 1")

    async def _checkout(self, ctx: CallContext, *, write: bool) -> psycopg.AsyncConnection[Any]:
        s = self.settings
        timeout = s.write_timeout_ms if write else s.statement_timeout_ms
        settings = [
            ctx.subject,
            json.dumps(dict(ctx.claims)),
            f"{timeout}ms",
            f"{s.idle_in_transaction_timeout_ms}ms",
        ]
        begin = "BEGIN READ WRITE" if write else "BEGIN READ ONLY"
        await self.open()
        suspect = False  # a pooled connection just died: the server may be gone
        for attempt in (1, 2):
            # Known down (the last connection attempt failed): say so at once, not after the pool's
            # full wait; the pool keeps reconnecting in the background and the next call may succeed.
            wait = DOWN_WAIT_SECONDS if self.pool.down or suspect else s.pool_timeout_seconds
            try:
                conn = await self.pool.getconn(timeout=wait)
            except PoolTimeout as exc:
                if self.pool.down or suspect:
                    # the detail (host, port, driver message) is for the log, not for callers
                    logger.warning("database unavailable: %s", self.pool.down or "connection lost")
                    reason = "the server cannot reach it right now"
                else:
                    reason = f"no free connection within {wait:g}s"
                raise BackendError(f"database unavailable: {reason}; retry shortly") from exc
            try:
                async with conn.pipeline():
                    await conn.execute(begin)
                    await conn.execute(
                        "SELECT set_config('fleet.subject', %s, true), set_config('fleet.claims', %s, true), "
                        "set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true), "
                        "set_config('idle_in_transaction_session_timeout', %s, true), "
                        # a cancelled call closes its connection: the server then stops the statement
                        "set_config('client_connection_check_interval', '250ms', true)",
                        [settings[0], settings[1], settings[2], settings[2], settings[3]],
                    )
                    await conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(ctx.role)))
                return conn
            except psycopg.OperationalError as exc:
                # A connection that died under us (e.g. PostgreSQL restarted): drop it, purge its siblings,
                # retry once on a fresh one. Nothing of the caller's has run yet, so a retry is safe.
                await self._release(conn, broken=True)
                if attempt == 2:
                    raise BackendError(f"database unavailable: {_first_line(exc)}") from exc
                suspect = True
                await self.pool.check()
            except psycopg.Error as exc:
                await self._release(conn, broken=False)
                raise BackendError(f"could not act as role {ctx.role!r}: {_first_line(exc)}") from exc
        raise AssertionError("unreachable")

    async def _release(
        self, conn: psycopg.AsyncConnection[Any], *, broken: bool, commit: bool = False
    ) -> None:
        """End the transaction (COMMIT if asked), clean session state, return the connection to the pool
        (closed when it can't be trusted). Raises only the COMMIT's own error."""
        commit_error: psycopg.Error | None = None
        try:
            with anyio.CancelScope(shield=True), anyio.move_on_after(10) as scope:
                status = conn.info.transaction_status
                if broken or status in (TransactionStatus.ACTIVE, TransactionStatus.UNKNOWN):
                    # A statement may still run (cancelled call, COPY): stop it, drop the link.
                    if not conn.closed:
                        with contextlib.suppress(Exception):
                            await conn.cancel_safe(timeout=2)
                        await conn.close()
                else:
                    if commit:
                        try:
                            await conn.execute("COMMIT")
                        except psycopg.Error as exc:
                            commit_error = exc
                    try:
                        await conn.execute(_RESET if commit and not commit_error else b"ROLLBACK; " + _RESET)
                    except psycopg.Error as exc:
                        logger.warning("connection reset failed, dropping it: %s", _first_line(exc))
                        await conn.close()
            if scope.cancelled_caught:
                await conn.close()
        finally:
            with anyio.CancelScope(shield=True):
                await self.pool.putconn(conn)
        if commit_error is not None:
            raise commit_error

    @contextlib.asynccontextmanager
    async def session(
        self, ctx: CallContext, *, write: bool = False
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """One transaction as the caller. Read sessions always roll back; write sessions commit on success."""
        conn = await self._checkout(ctx, write=write)
        ok = False
        try:
            yield conn
            ok = True
        finally:
            try:
                await self._release(conn, broken=False, commit=write and ok)
            except psycopg.OperationalError as exc:
                raise BackendError(
                    f"connection lost during COMMIT: the write may or may not have been applied "
                    f"({_first_line(exc)})"
                ) from exc
            except psycopg.Error as exc:  # e.g. a deferred constraint: PostgreSQL rolled it all back
                raise ToolError(f"commit failed, nothing was written: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
