"""Domain functions: each runs in a caller-scoped transaction (backend.Database.session) and returns a model.

The caller's SQL is never parsed for safety here: it runs as one statement (the extended protocol refuses
`;`-stacked commands) inside the caller's role, read-only where the tool is read-only, under
statement_timeout.
"""

from __future__ import annotations

import contextlib
import json
import math
import select
import time
from collections.abc import AsyncGenerator, Sequence
from typing import Any, TypeVar

import orjson
import psycopg
import pydantic_core
from psycopg import AsyncRawCursor, sql
from psycopg.abc import PQGen
from psycopg.generators import fetch
from psycopg.pq import ExecStatus, TransactionStatus
from psycopg.waiting import Ready, Wait

from fleet_core import BackendError, ToolError

from .models import (
    Column,
    ColumnInfo,
    ConstraintInfo,
    ExplainResult,
    ForeignKeyInfo,
    HealthReport,
    IndexInfo,
    PolicyInfo,
    QueryResult,
    SchemaInfo,
    SchemaList,
    StatementResult,
    TableDescription,
    TableInfo,
    TableList,
    TopQueries,
    TopQuery,
)

__all__ = [
    "database_health",
    "describe_table",
    "execute_statement",
    "explain_query",
    "list_schemas",
    "list_tables",
    "run_query",
    "top_queries",
]

Conn = psycopg.AsyncConnection[Any]
Param = str | int | float | bool | None
_CHUNK = 2000
_KINDS = {"r": "table", "v": "view", "m": "materialized view", "f": "foreign table", "p": "partitioned table"}
_CONSTRAINTS = {"p": "primary key", "u": "unique", "c": "check", "f": "foreign key", "x": "exclusion"}


_CONNECTION_LOST = {"08000", "08001", "08003", "08004", "08006", "57P01", "57P02", "57P03"}


def database_error(exc: psycopg.Error, role: str) -> ToolError:
    """PostgreSQL's refusal, said plainly. Connection trouble is the backend's fault, not the caller's."""
    if exc.sqlstate is None and isinstance(exc, psycopg.ProgrammingError) and "COPY" in str(exc):
        return ToolError("COPY is not supported: use a SELECT (reads) or INSERT/UPDATE/DELETE (writes)")
    message = exc.diag.message_primary or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    detail = f" ({exc.diag.message_detail})" if exc.diag.message_detail else ""
    if exc.sqlstate in _CONNECTION_LOST or (
        exc.sqlstate is None and isinstance(exc, psycopg.OperationalError)
    ):
        return BackendError(f"database connection failed: {message}")
    if exc.sqlstate is None:  # refused client-side (e.g. a NUL byte in a parameter)
        return ToolError(f"the statement could not be sent: {message}")
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return ToolError(f"the statement was stopped: {message} (time limits apply to every call)")
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        return ToolError(
            f"read-only: {message}. Read tools run in a READ ONLY transaction; "
            "changes go through execute_statement (scope db:write)"
        )
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return ToolError(f"PostgreSQL refused this for role {role}: {message}{detail}")
    return ToolError(f"PostgreSQL error {exc.sqlstate}: {message}{detail}")


# How long a result is read without handing the event loop a turn while more of it is already waiting.
EAGER_READ_SECONDS = 0.005  # psycopg's own budget for writes (waiting.MAX_BUSY_TIME)


def _eager(gen: PQGen[Any], fileno: int) -> PQGen[Any]:
    """A psycopg generator that asks the event loop to wait for the socket only when it has nothing to read.

    libpq reads at most its input buffer (16 KB) per call, so a 10,000-row result (~1 MB) took ~70 event
    loop round trips (a future, epoll registration and removal each), though the data was nearly always
    there already: a zero-timeout poll() instead, for up to EAGER_READ_SECONDS at a time, then one round
    trip so other calls get their turn (a third less CPU for reading the rows; issue 18)."""
    poll = select.poll()
    poll.register(fileno, select.POLLIN)
    started = time.monotonic()
    try:
        state = next(gen)
        while True:
            if state == Wait.R and poll.poll(0) and time.monotonic() - started < EAGER_READ_SECONDS:
                state = gen.send(Ready.R)  # readable, or closed/failed: libpq finds out which
                continue
            ready = yield state
            started = time.monotonic()
            state = gen.send(ready)
    except StopIteration as done:
        return done.value


class _Cursor(AsyncRawCursor[Any]):
    """A raw ($1 placeholders) cursor whose stream() also takes statements without a result set and keeps
    the final command tag; stream() always uses the extended protocol, so `;`-stacking is refused."""

    command_status: str = ""
    affected: int = -1

    async def chunks(
        self, query: str | bytes, params: list[Any], *, size: int
    ) -> AsyncGenerator[list[Any], None]:
        """psycopg's stream(), yielding whole chunks of rows (no per-row async hop)."""
        async with self._conn.lock:
            try:
                await self._conn.wait(self._stream_send_gen(query, params, size=size))
                first = True
                fileno = self._pgconn.socket
                while res := await self._conn.wait(_eager(self._stream_fetchone_gen(first), fileno)):
                    yield self._tx.load_rows(0, res.ntuples, self._make_row)
                    first = False
            finally:
                if self._pgconn.transaction_status == TransactionStatus.ACTIVE:
                    # stopped early (cap reached): cancel the statement, then drain what already arrived
                    await self._conn._try_cancel()
                    with contextlib.suppress(Exception):
                        while await self._conn.wait(self._stream_fetchone_gen(first=False)):
                            pass
                    with contextlib.suppress(Exception):
                        await self._conn.wait(self._stream_fetchone_gen(first=False))

    def _tag(self, res: Any) -> None:
        if res.command_status:
            self.command_status = res.command_status.decode()
            self.affected = res.command_tuples if res.command_tuples is not None else -1

    def _stream_fetchone_gen(self, first: bool) -> Any:  # psycopg 3.2/3.3 internals (pinned <3.4)
        res = yield from fetch(self._pgconn)
        if res is None:
            return None
        if res.status in (ExecStatus.SINGLE_TUPLE, ExecStatus.TUPLES_CHUNK):
            self._tag(res)  # in chunked mode the last chunk carries the command tag
            self.pgresult = res
            self._tx.set_pgresult(res, set_loaders=first)
            if first:
                self._make_row = self._make_row_maker()
            return res
        if res.status == ExecStatus.EMPTY_QUERY:
            while res:
                res = yield from fetch(self._pgconn)
            raise psycopg.ProgrammingError("the statement is empty (only whitespace or comments)")
        if res.status in (ExecStatus.TUPLES_OK, ExecStatus.COMMAND_OK):
            if first and res.status == ExecStatus.TUPLES_OK:
                self.pgresult = res  # an empty result still has columns
                self._tx.set_pgresult(res, set_loaders=True)
            self._tag(res)
            while res:
                res = yield from fetch(self._pgconn)
            return None
        return self._raise_for_result(res)


def _columns(cur: psycopg.AsyncCursor[Any]) -> list[Column]:
    return [Column(name=d.name, type=d.type_display) for d in cur.description or ()]


def _finite(value: Any) -> Any:
    """JSON has no NaN/Infinity: spell them as PostgreSQL does, as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


# Python floats come only from the loaders of these types (float4, float8, json, jsonb and their arrays; the
# others load as PostgreSQL's text, ints or bools): a result without such a column holds no NaN or ±Infinity.
_FLOAT_OIDS = frozenset({700, 701, 1021, 1022, 114, 199, 3802, 3807})


# orjson writes what it knows natively (str, int, bool, None, lists, tuples, dicts) byte for byte as
# pydantic-core does (tests/test_db_types.py compares every type), in about a third of the time. Anything
# else — a datetime or str subclass (passed through to `default`), an int beyond 64 bits, a lone surrogate —
# stops it, and pydantic-core encodes that chunk instead. Not used where floats may appear: orjson writes
# NaN and Infinity as null.
_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS
)


def _not_plain(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def _encode(rows: Any, *, floats: bool = True) -> tuple[Any, bytes]:
    """Compact JSON (UTF-8) of rows, and the rows, with non-finite floats replaced if there were any.

    The same JSON values as json.dumps(default=str) (tests/test_db_types.py compares every common type
    with that reference): orjson for results without float columns, else pydantic-core's encoder."""
    try:
        if not floats:
            try:
                return rows, orjson.dumps(rows, default=_not_plain, option=_ORJSON_OPTIONS)
            except orjson.JSONEncodeError:
                pass
            # ("strings" only keeps the text valid JSON should a float ever be there)
            return rows, pydantic_core.to_json(rows, inf_nan_mode="strings", fallback=str)
        encoded = pydantic_core.to_json(rows, inf_nan_mode="constants", fallback=str)
        if b"NaN" in encoded or b"Infinity" in encoded:  # a non-finite float, or only those words in a string
            rows = _finite(rows)
            encoded = pydantic_core.to_json(rows, fallback=str)
    except pydantic_core.PydanticSerializationError as exc:
        if "surrogates not allowed" not in str(exc):
            raise
        # PostgreSQL's json type keeps escapes as written: '"\ud800"'::json loads as a lone surrogate
        raise ToolError(
            "a value in the result is not valid Unicode (a lone UTF-16 surrogate, e.g. a \\ud800 escape in "
            "a json value) and cannot be sent as UTF-8 JSON: select that value as text (value::text)"
        ) from None
    return rows, encoded


class _Rows:
    """Rows kept within the caps, plus their compact JSON (reused for the text content: no second pass).

    The byte cap counts the UTF-8 bytes of the rows' compact JSON — the `rows` array exactly as it is sent
    (in the structured content, and inside the text content) — read off the encoder's output, so it costs
    no extra pass. A result ends at the last whole row that fits."""

    def __init__(self, max_rows: int, max_bytes: int) -> None:
        self.rows: list[Any] = []
        self.parts: list[str] = []  # one per chunk of rows, without the brackets
        self.size = 2  # UTF-8 bytes of the rows' JSON so far: "[" + parts joined by "," + "]"
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self.truncated: str | None = None
        self.oversized_row = False  # one row alone was over the byte cap
        self.floats = True  # whether a column may hold floats (set from the result's types)

    def add(self, chunk: list[Any]) -> None:
        room = self.max_rows - len(self.rows)
        if len(chunk) > room:
            chunk, self.truncated = chunk[:room], "max_rows"
        if not chunk:
            return
        chunk, encoded = _encode(chunk, floats=self.floats)
        grown = self.size + (len(encoded) - 2) + (1 if self.parts else 0)  # the JSON's bytes with this chunk
        if grown <= self.max_bytes:
            self.rows.extend(chunk)
            self.parts.append(str(memoryview(encoded)[1:-1], "utf-8"))
            self.size = grown
            return
        for row in chunk:  # the byte cap falls inside this chunk
            one = _encode(row, floats=self.floats)[1]
            grown = self.size + len(one) + (1 if self.parts else 0)
            if grown > self.max_bytes:
                self.truncated = "max_bytes"
                self.oversized_row = len(one) + 2 > self.max_bytes
                return
            self.rows.append(row)
            self.parts.append(one.decode())
            self.size = grown


async def _stream(
    conn: Conn, query: str | bytes, params: Sequence[Param], max_rows: int, max_bytes: int, *, drain: bool
) -> tuple[_Cursor, _Rows]:
    """Run one statement (extended protocol: no stacking) and keep rows within the caps.

    Reads stop at the cap (PostgreSQL cancels the rest); writes (`drain`) must finish, so extra rows are
    dropped.
    """
    if (b"\x00" in query) if isinstance(query, bytes) else ("\x00" in query):
        raise psycopg.ProgrammingError("SQL text must not contain NUL characters")  # libpq would cut it there
    cur = _Cursor(conn)  # tuple rows: JSON arrays on the wire, no per-row copy
    kept = _Rows(max_rows, max_bytes)
    # aclosing: on an early stop, cancel and drain now, so the connection is clean for the ROLLBACK
    async with contextlib.aclosing(cur.chunks(query, list(params), size=_CHUNK)) as chunks:
        async for chunk in chunks:
            if kept.truncated is None:
                if not kept.rows:
                    result = cur.pgresult
                    kept.floats = result is None or any(
                        result.ftype(i) in _FLOAT_OIDS for i in range(result.nfields)
                    )
                kept.add(chunk)
            if kept.truncated is not None and not drain:
                break
    if kept.oversized_row and not drain:
        # PostgreSQL sends a row as one message, so libpq held the whole value (up to 1 GB) in its
        # input buffer, which only shrinks when the connection closes: close it rather than pool it
        # (finding 12.4: the process kept ~380 MB after one 300 MB value). The read rolls back anyway.
        await conn.close()
    return cur, kept


def _not_unicode(exc: UnicodeEncodeError) -> ToolError:
    """The SQL text or a parameter holds what UTF-8 can't say (a lone surrogate, e.g. JSON's "\\ud800")."""
    bad = exc.object[exc.start : exc.end].encode("unicode_escape").decode()
    return ToolError(
        f"the statement could not be sent: the SQL or a parameter is not valid Unicode ({bad}, a lone "
        "UTF-16 surrogate, has no UTF-8 form)"
    )


R = TypeVar("R", QueryResult, StatementResult)


def _result(model: type[R], cur: Any, kept: Any, role: str, **extra: Any) -> R:
    result = model.model_construct(
        columns=_columns(cur),
        rows=kept.rows,
        row_count=len(kept.rows),
        truncated=kept.truncated is not None,
        truncated_reason=kept.truncated,
        role=role,
        **extra,
    )
    result._row_parts = kept.parts  # the rows' JSON, already encoded while checking the byte cap
    return result


async def run_query(
    conn: Conn, role: str, query: str, params: Sequence[Param], *, max_rows: int, max_bytes: int
) -> QueryResult:
    try:
        cur, kept = await _stream(conn, query, params, max_rows, max_bytes, drain=False)
    except psycopg.Error as exc:
        raise database_error(exc, role) from exc
    except UnicodeEncodeError as exc:
        raise _not_unicode(exc) from None
    return _result(QueryResult, cur, kept, role)


# What execute_statement runs, decided by PostgreSQL's own parser (pglast is libpg_query: the server's
# grammar). Everything else — ALTER ROLE (a role may change its own settings and password), DROP OWNED,
# ALTER DEFAULT PRIVILEGES, SET, PREPARE, LISTEN, CALL, DDL — is refused before it reaches the database
# (finding 12.2: PostgreSQL lets any role alter itself, and event triggers don't see role commands).
_WRITE_KINDS = {
    "InsertStmt": "INSERT",
    "UpdateStmt": "UPDATE",
    "DeleteStmt": "DELETE",
    "MergeStmt": "MERGE",
    "SelectStmt": "SELECT",
}


def statement_kind(statement: str) -> str:
    """The kind of the one statement in `statement` if execute_statement may run it; else a ToolError."""
    # Imported on the first write, not at start-up: pglast.parser brings its whole AST (~8 MB of RSS per
    # process) that a server whose callers only read never needs (tests/test_startup_imports.py).
    import pglast.parser

    try:
        parsed = pglast.parser.parse_sql(statement)
    except pglast.parser.ParseError as exc:
        raise ToolError(f"PostgreSQL's parser refused the statement: {exc}") from None
    if not parsed:
        raise ToolError("the statement is empty (only whitespace or comments)")
    if len(parsed) > 1:
        raise ToolError("execute_statement runs exactly one statement")
    node = parsed[0].stmt
    kind = _WRITE_KINDS.get(type(node).__name__)
    if kind is None or (kind == "SELECT" and getattr(node, "intoClause", None) is not None):
        what = type(node).__name__.removesuffix("Stmt") if kind is None else "SELECT INTO"
        raise ToolError(
            f"execute_statement runs one INSERT, UPDATE, DELETE, MERGE or SELECT; this is {what}. "
            "Schema, role, privilege, session and transaction commands are refused."
        )
    return kind


async def execute_statement(
    conn: Conn, role: str, statement: str, params: Sequence[Param], *, max_rows: int, max_bytes: int
) -> StatementResult:
    if "\x00" not in statement:  # NUL: refused below with the same message as the read tools
        statement_kind(statement)
    try:
        cur, kept = await _stream(conn, statement, params, max_rows, max_bytes, drain=True)
    except psycopg.Error as exc:
        raise database_error(exc, role) from exc
    except UnicodeEncodeError as exc:
        raise _not_unicode(exc) from None
    return _result(StatementResult, cur, kept, role, status=cur.command_status, affected_rows=cur.affected)


def _relations(plan: Any) -> set[tuple[str, str]]:
    """(schema, relation) of every scan anywhere in a VERBOSE JSON plan (subplans, CTEs, init plans)."""
    found: set[tuple[str, str]] = set()
    if isinstance(plan, dict):
        if isinstance(plan.get("Relation Name"), str):
            found.add((str(plan.get("Schema", "")), plan["Relation Name"]))
        for value in plan.values():
            found |= _relations(value)
    elif isinstance(plan, list):
        for value in plan:
            found |= _relations(value)
    return found


# A relation row-level security guards, itself or through a parent (a partition or inheritance child
# scanned through its RLS-enabled parent shows up in the plan under its own name).
_ROW_SECURED = (
    "SELECT coalesce(array_agg(DISTINCT format('%%I.%%I', n.nspname, c.relname)), '{}') "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "JOIN unnest(%s::text[], %s::text[]) AS r(nsp, rel) ON r.nsp = n.nspname AND r.rel = c.relname "
    "WHERE EXISTS (WITH RECURSIVE up(oid) AS (SELECT c.oid UNION "
    "SELECT i.inhparent FROM pg_inherits i JOIN up ON i.inhrelid = up.oid) "
    "SELECT 1 FROM up JOIN pg_class p ON p.oid = up.oid WHERE p.relrowsecurity)"
)


async def _plan(conn: Conn, prefix: bytes, query: str, params: Sequence[Param]) -> Any:
    _, kept = await _stream(conn, prefix + query.encode(), params, 10, 10_000_000, drain=True)
    plan = kept.rows[0][0] if kept.rows else []
    return json.loads(plan) if isinstance(plan, str) else plan


async def explain_query(
    conn: Conn, role: str, query: str, params: Sequence[Param], *, analyze: bool
) -> ExplainResult:
    # The one place caller text is composed into SQL: EXPLAIN must precede the statement. It stays a single
    # statement (extended protocol) in the caller's read-only, time-limited transaction; ANALYZE executes it
    # there and nowhere else.
    #
    # Row-level security (finding 12.1): PostgreSQL evaluates a caller's leakproof conditions before the
    # policy, and an analyzed plan counts what they matched (loops of the policy's subplan, rows removed
    # by a filter) — a yes/no oracle on rows the caller cannot see; row estimates leak the same through
    # the statistics. So a statement that reads a row-secured relation gets its plan's shape only (COSTS
    # OFF: no estimates, no timings, no counts) and ANALYZE is refused for it.
    try:
        shape = await _plan(conn, b"EXPLAIN (FORMAT JSON, VERBOSE, COSTS OFF) ", query, params)
        relations = sorted(_relations(shape))
        secured: list[str] = []
        if relations:
            cur = await conn.execute(_ROW_SECURED, [[r[0] for r in relations], [r[1] for r in relations]])
            row = await cur.fetchone()
            secured = sorted(row[0]) if row else []
        if secured:
            if analyze:
                raise ToolError(
                    f"analyze is not available here: row-level security applies to {', '.join(secured)}, "
                    "and execution counts would reveal rows hidden from you. Call explain_query with "
                    "analyze=false for the plan's shape."
                )
            note = (
                f"row-level security applies to {', '.join(secured)}: the plan is shown without costs "
                "or row estimates, which would reveal rows hidden from you"
            )
            return ExplainResult(plan=shape, analyzed=False, role=role, note=note)
        prefix = b"EXPLAIN (FORMAT JSON, ANALYZE, BUFFERS) " if analyze else b"EXPLAIN (FORMAT JSON) "
        plan = await _plan(conn, prefix, query, params)
    except psycopg.Error as exc:
        raise database_error(exc, role) from exc
    return ExplainResult(plan=plan, analyzed=analyze, role=role)


async def _fetch(conn: Conn, role: str, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    try:
        cur = await conn.execute(query, list(params))
        return await cur.fetchall()
    except psycopg.Error as exc:
        raise database_error(exc, role) from exc


async def list_schemas(conn: Conn, role: str, *, include_system: bool) -> SchemaList:
    rows = await _fetch(
        conn,
        role,
        "SELECT n.nspname, pg_get_userbyid(n.nspowner), obj_description(n.oid, 'pg_namespace') "
        "FROM pg_namespace n WHERE n.nspname !~ '^pg_(toast|temp_|toast_temp_)' "
        "AND (%s OR n.nspname NOT IN ('pg_catalog', 'information_schema')) "
        "AND has_schema_privilege(n.oid, 'USAGE') ORDER BY 1",
        [include_system],
    )
    return SchemaList(schemas=[SchemaInfo(name=r[0], owner=r[1], comment=r[2]) for r in rows])


async def list_tables(conn: Conn, role: str, *, schema: str | None, limit: int) -> TableList:
    rows = await _fetch(
        conn,
        role,
        "SELECT n.nspname, c.relname, c.relkind::text, c.reltuples::float8, "
        "obj_description(c.oid, 'pg_class'), "
        "array_remove(ARRAY["
        " CASE WHEN has_table_privilege(c.oid, 'SELECT') THEN 'SELECT' END,"
        " CASE WHEN has_any_column_privilege(c.oid, 'INSERT') THEN 'INSERT' END,"
        " CASE WHEN has_any_column_privilege(c.oid, 'UPDATE') THEN 'UPDATE' END,"
        " CASE WHEN has_table_privilege(c.oid, 'DELETE') THEN 'DELETE' END], NULL), c.relrowsecurity "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p') "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname !~ '^pg_' AND (%s::text IS NULL OR n.nspname = %s::text) "
        "AND has_schema_privilege(n.oid, 'USAGE') "
        "AND has_any_column_privilege(c.oid, 'SELECT, INSERT, UPDATE, REFERENCES') "
        "ORDER BY 1, 2 LIMIT %s",
        [schema, schema, limit + 1],
    )
    tables = [
        TableInfo(
            schema_name=r[0],
            name=r[1],
            kind=_KINDS.get(r[2], r[2]),
            estimated_rows=int(r[3]) if r[3] is not None and r[3] >= 0 and r[2] in "rmp" else None,
            comment=r[4],
            privileges=r[5],
            row_level_security=r[6],
        )
        for r in rows[:limit]
    ]
    return TableList(tables=tables, truncated=len(rows) > limit)


async def describe_table(conn: Conn, role: str, *, schema: str | None, table: str) -> TableDescription:
    """`schema=None`: the one schema (outside the system ones) where the caller can use `table`."""
    found = await _fetch(
        conn,
        role,
        "SELECT c.oid, c.relkind::text, obj_description(c.oid, 'pg_class'), c.relrowsecurity, "
        "c.relforcerowsecurity, n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE (%s::text IS NULL AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "       OR n.nspname = %s) "
        "AND c.relname = %s AND c.relkind IN ('r', 'v', 'm', 'f', 'p') "
        "AND has_schema_privilege(n.oid, 'USAGE') "
        "AND has_any_column_privilege(c.oid, 'SELECT, INSERT, UPDATE, REFERENCES') ORDER BY n.nspname",
        [schema, schema, table],
    )
    if not found:
        where = f"{schema}.{table}" if schema else f"{table} (in any schema)"
        raise ToolError(f"table {where} does not exist or role {role} may not use it; list_tables shows them")
    if len(found) > 1:
        schemas = ", ".join(r[5] for r in found)
        raise ToolError(f"table {table} is in more than one schema ({schemas}): pass schema=")
    oid, kind, comment, rls, force_rls, schema = found[0]
    columns = await _fetch(
        conn,
        role,
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid), col_description(a.attrelid, a.attnum) "
        "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        [oid],
    )
    constraints = await _fetch(
        conn,
        role,
        "SELECT conname, contype::text, pg_get_constraintdef(oid), "
        "(SELECT array_agg(attname ORDER BY k.i) FROM unnest(conkey) WITH ORDINALITY k(n, i) "
        "  JOIN pg_attribute ON attrelid = conrelid AND attnum = k.n), "
        "confrelid::regclass::text, "
        "(SELECT array_agg(attname ORDER BY k.i) FROM unnest(confkey) WITH ORDINALITY k(n, i) "
        "  JOIN pg_attribute ON attrelid = confrelid AND attnum = k.n) "
        "FROM pg_constraint WHERE conrelid = %s ORDER BY conname",
        [oid],
    )
    indexes = await _fetch(
        conn,
        role,
        "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisunique, i.indisprimary "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s ORDER BY c.relname",
        [oid],
    )
    policies = await _fetch(
        conn,
        role,
        "SELECT polname, CASE polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' "
        "WHEN 'd' THEN 'DELETE' ELSE 'ALL' END, polpermissive, "
        "ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r) END FROM unnest(polroles) r), "
        "pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid) "
        "FROM pg_policy WHERE polrelid = %s ORDER BY polname",
        [oid],
    )
    return TableDescription(
        schema_name=schema,
        name=table,
        kind=_KINDS.get(kind, kind),
        comment=comment,
        columns=[
            ColumnInfo(name=c[0], type=c[1], nullable=c[2], default=c[3], comment=c[4]) for c in columns
        ],
        constraints=[
            ConstraintInfo(name=c[0], type=_CONSTRAINTS.get(c[1], c[1]), definition=c[2]) for c in constraints
        ],
        indexes=[IndexInfo(name=i[0], definition=i[1], unique=i[2], primary=i[3]) for i in indexes],
        foreign_keys=[
            ForeignKeyInfo(
                name=c[0], columns=c[3] or [], references_table=c[4], references_columns=c[5] or []
            )
            for c in constraints
            if c[1] == "f"
        ],
        row_level_security=rls,
        force_row_level_security=force_rls,
        policies=[
            PolicyInfo(name=p[0], command=p[1], permissive=p[2], roles=p[3], using=p[4], with_check=p[5])
            for p in policies
        ],
    )


_TOP_ORDER = {"total_time": "total_exec_time", "mean_time": "mean_exec_time", "calls": "calls"}
PGSS_HINT = (
    "pg_stat_statements is not available in this database: add it to shared_preload_libraries, "
    "restart PostgreSQL, then CREATE EXTENSION pg_stat_statements"
)


async def top_queries(conn: Conn, role: str, *, order_by: str, limit: int) -> TopQueries:
    where = await _fetch(
        conn,
        role,
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_stat_statements'",
    )
    if not where:
        return TopQueries(available=False, message=PGSS_HINT, order_by=order_by, queries=[])
    query = sql.SQL(
        "SELECT query, calls, total_exec_time, mean_exec_time, rows, shared_blks_hit, shared_blks_read "
        "FROM {}.pg_stat_statements "
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "ORDER BY {} DESC LIMIT %s"
    ).format(sql.Identifier(where[0][0]), sql.Identifier(_TOP_ORDER[order_by]))
    try:
        cur = await conn.execute(query, [limit])
        rows = await cur.fetchall()
    except psycopg.errors.ObjectNotInPrerequisiteState:
        return TopQueries(available=False, message=PGSS_HINT, order_by=order_by, queries=[])
    except psycopg.Error as exc:
        raise database_error(exc, role) from exc
    return TopQueries(
        available=True,
        order_by=order_by,
        queries=[
            TopQuery(
                query=r[0][:2000] if r[0] else "<not visible to your role>",
                calls=r[1],
                total_ms=round(r[2], 3),
                mean_ms=round(r[3], 3),
                rows=r[4],
                shared_blocks_hit=r[5],
                shared_blocks_read=r[6],
            )
            for r in rows
        ],
    )


def _dicts(rows: list[tuple[Any, ...]], keys: Sequence[str]) -> list[dict[str, Any]]:
    return [dict(zip(keys, r, strict=True)) for r in rows]


async def database_health(conn: Conn, role: str, *, long_running_seconds: float) -> HealthReport:
    version = (await _fetch(conn, role, "SELECT current_setting('server_version')"))[0][0]
    states = await _fetch(
        conn,
        role,
        "SELECT coalesce(state, 'unknown'), count(*)::int FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' GROUP BY 1 UNION ALL "
        "SELECT 'max_connections', current_setting('max_connections')::int",
    )
    hit = await _fetch(
        conn,
        role,
        "SELECT blks_hit::float8 / nullif(blks_hit + blks_read, 0) FROM pg_stat_database "
        "WHERE datname = current_database()",
    )
    long_running = await _fetch(
        conn,
        role,
        "SELECT pid, usename::text, state, extract(epoch FROM clock_timestamp() - query_start)::float8, "
        "left(query, 300) "
        "FROM pg_stat_activity WHERE state IS DISTINCT FROM 'idle' AND backend_type = 'client backend' "
        "AND pid <> pg_backend_pid() AND query_start <= clock_timestamp() - make_interval(secs => %s) "
        "ORDER BY query_start LIMIT 20",
        [long_running_seconds],
    )
    blocking = await _fetch(
        conn,
        role,
        "SELECT pid, pg_blocking_pids(pid), wait_event_type, "
        "extract(epoch FROM clock_timestamp() - query_start)::float8, "
        "left(query, 300) FROM pg_stat_activity WHERE cardinality(pg_blocking_pids(pid)) > 0 LIMIT 20",
    )
    bloat = await _fetch(
        conn,
        role,
        "SELECT schemaname::text, relname::text, n_live_tup, n_dead_tup, "
        "round((n_dead_tup::numeric / nullif(n_live_tup + n_dead_tup, 0)), 3)::float8, "
        "last_autovacuum::text FROM pg_stat_user_tables WHERE n_dead_tup > 0 "
        "ORDER BY n_dead_tup DESC LIMIT 10",
    )
    unused = await _fetch(
        conn,
        role,
        "SELECT s.schemaname::text, s.relname::text, s.indexrelname::text, pg_relation_size(s.indexrelid) "
        "FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid "
        "WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary ORDER BY 4 DESC LIMIT 10",
    )
    sees_all = (await _fetch(conn, role, "SELECT pg_has_role('pg_read_all_stats', 'USAGE')"))[0][0]
    notes = (
        [] if sees_all else [f"role {role} is not in pg_read_all_stats: other sessions' queries are hidden"]
    )
    return HealthReport(
        server_version=version,
        connections={k: v for k, v in states},
        cache_hit_ratio=round(hit[0][0], 4) if hit and hit[0][0] is not None else None,
        long_running=_dicts(long_running, ("pid", "user", "state", "seconds", "query")),
        blocking_locks=_dicts(blocking, ("pid", "blocked_by", "wait_event_type", "seconds", "query")),
        bloat=_dicts(
            bloat, ("schema", "table", "live_tuples", "dead_tuples", "dead_ratio", "last_autovacuum")
        ),
        unused_indexes=_dicts(unused, ("schema", "table", "index", "bytes")),
        notes=notes,
    )
