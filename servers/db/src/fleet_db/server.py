"""fleet-db: PostgreSQL as the caller. Tool bodies are a few lines: pick the caller's role, open one
transaction as them (backend.Database.session), call the domain function (ops)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import psycopg
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from fleet_core import READ_ONLY, caller, create_server, requires

from . import ops
from .backend import CallContext, Database, call_context
from .models import (
    ExplainResult,
    HealthReport,
    QueryResult,
    SchemaList,
    StatementResult,
    TableDescription,
    TableList,
    TopQueries,
)
from .settings import DbSettings

__all__ = ["build_server"]

INSTRUCTIONS = """PostgreSQL, as you. Every call runs in one transaction under the database role mapped from
your scopes, with your identity in fleet.subject, so row-level security decides what you see. Read tools are
READ ONLY with a statement timeout and row/byte caps (see `truncated`). Parameters are $1, $2, ...
placeholders bound server-side: never paste values into SQL. Writes need db:write and go through
execute_statement."""

SqlText = Annotated[
    str, Field(min_length=1, max_length=100_000, description="One SQL statement; $1, $2 … for params")
]
Params = Annotated[
    list[str | int | float | bool | None],
    Field(
        max_length=100, description="Values for $1, $2 … in order (bound by PostgreSQL, never interpolated)"
    ),
]
WRITE_SQL = ToolAnnotations(
    readOnlyHint=False, destructiveHint=True, idempotentHint=False, openWorldHint=False
)


def rows_result(result: QueryResult) -> CallToolResult:
    """Row results skip the SDK's generic model → dict → indented-JSON path (extra full passes over every
    value): a shallow dict whose rows are already JSON-ready, and as text the compact JSON of the same,
    reusing the rows' encoding done while streaming."""
    structured = {name: getattr(result, name) for name in type(result).model_fields}
    structured["columns"] = [{"name": c.name, "type": c.type} for c in result.columns]
    head = {k: v for k, v in structured.items() if k != "rows"}
    parts = result._row_parts
    if parts is None:
        parts = [json.dumps(result.rows, default=str, ensure_ascii=False, separators=(",", ":"))[1:-1]]
    prefix = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
    pieces = [prefix, ',"rows":[']
    for i, part in enumerate(parts):
        pieces += (",", part) if i else (part,)
    pieces.append("]}")
    text = "".join(pieces)  # the rows' JSON (~1 MB for 10,000 rows) copied once
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def build_server(settings: DbSettings, db: Database) -> MCPServer:
    mcp = create_server("db", instructions=INSTRUCTIONS)
    caps = {"max_rows": settings.max_rows, "max_bytes": settings.max_bytes}

    @contextlib.asynccontextmanager
    async def acting(
        ctx: Context[Any, Any], *, write: bool = False
    ) -> AsyncIterator[tuple[CallContext, Any]]:
        identity = caller(ctx)
        who = call_context(identity, settings.roles, settings.account_of(identity, "database"))
        async with db.session(who, write=write) as conn:
            try:
                yield who, conn
            except psycopg.Error as exc:  # anything a domain function didn't translate
                raise ops.database_error(exc, who.role) from exc

    @mcp.tool(meta=requires("db:read"), annotations=READ_ONLY)
    async def list_schemas(
        ctx: Context[Any, Any],
        include_system: Annotated[
            bool, Field(description="Also list pg_catalog and information_schema")
        ] = False,
    ) -> SchemaList:
        """List the schemas your database role may use."""
        async with acting(ctx) as (who, conn):
            return await ops.list_schemas(conn, who.role, include_system=include_system)

    @mcp.tool(meta=requires("db:read"), annotations=READ_ONLY)
    async def list_tables(
        ctx: Context[Any, Any],
        schema: Annotated[
            str | None, Field(max_length=63, description="Only this schema (default: all)")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=1000, description="Most tables to return")] = 200,
    ) -> TableList:
        """List tables and views you can access, with estimated row counts, comments and your privileges."""
        async with acting(ctx) as (who, conn):
            return await ops.list_tables(conn, who.role, schema=schema, limit=limit)

    @mcp.tool(meta=requires("db:read"), annotations=READ_ONLY)
    async def describe_table(
        ctx: Context[Any, Any],
        table: Annotated[str, Field(min_length=1, max_length=63, description="Table or view name")],
        schema: Annotated[
            str | None,
            Field(
                min_length=1, max_length=63, description="Schema name (default: the one that has the table)"
            ),
        ] = None,
    ) -> TableDescription:
        """Describe a table: columns, types, defaults, constraints, indexes, foreign keys, RLS, policies."""
        async with acting(ctx) as (who, conn):
            return await ops.describe_table(conn, who.role, schema=schema, table=table)

    @mcp.tool(meta=requires("db:read"), annotations=READ_ONLY)
    async def run_query(
        ctx: Context[Any, Any], sql: SqlText, params: Params | None = None
    ) -> Annotated[CallToolResult, QueryResult]:
        """Run one read-only SQL statement as you (READ ONLY transaction, time limit, row and byte caps)."""
        async with acting(ctx) as (who, conn):
            result = await ops.run_query(conn, who.role, sql, params or [], **caps)
        await db.name_types(result.columns)
        return rows_result(result)

    @mcp.tool(meta=requires("db:read"), annotations=READ_ONLY)
    async def explain_query(
        ctx: Context[Any, Any],
        sql: SqlText,
        params: Params | None = None,
        analyze: Annotated[
            bool,
            Field(
                description="Execute it for real timings (inside the read-only, time-limited transaction); "
                "not available for tables with row-level security"
            ),
        ] = False,
    ) -> ExplainResult:
        """Show PostgreSQL's JSON query plan for a statement. Over tables with row-level security the plan
        comes without costs or row estimates, and analyze is refused: those numbers count hidden rows."""
        async with acting(ctx) as (who, conn):
            return await ops.explain_query(conn, who.role, sql, params or [], analyze=analyze)

    @mcp.tool(meta=requires("db:read"), annotations=READ_ONLY)
    async def top_queries(
        ctx: Context[Any, Any],
        order_by: Annotated[
            Literal["total_time", "mean_time", "calls"],
            Field(description="Rank by total time, mean time or calls"),
        ] = "total_time",
        limit: Annotated[int, Field(ge=1, le=100, description="How many statements")] = 10,
    ) -> TopQueries:
        """The most expensive statements of this database, from pg_stat_statements."""
        async with acting(ctx) as (who, conn):
            return await ops.top_queries(conn, who.role, order_by=order_by, limit=limit)

    @mcp.tool(meta=requires("db:read"), annotations=READ_ONLY)
    async def database_health(
        ctx: Context[Any, Any],
        long_running_seconds: Annotated[
            float, Field(ge=0, le=86400, description="Report statements running longer than this")
        ] = 30,
    ) -> HealthReport:
        """Database health: connections, cache hit ratio, long-running queries, blocking locks, bloat,
        unused indexes."""
        async with acting(ctx) as (who, conn):
            return await ops.database_health(conn, who.role, long_running_seconds=long_running_seconds)

    @mcp.tool(meta=requires("db:write"), annotations=WRITE_SQL)
    async def execute_statement(
        ctx: Context[Any, Any], sql: SqlText, params: Params | None = None
    ) -> Annotated[CallToolResult, StatementResult]:
        """Run one data-changing statement (INSERT/UPDATE/DELETE/MERGE … RETURNING, or a SELECT) as you under
        the writer role; committed only if it succeeds. Anything else (DDL, ALTER ROLE, GRANT, SET, …) is
        refused, decided by PostgreSQL's own parser; PostgreSQL's grants and row-level security apply."""
        async with acting(ctx, write=True) as (who, conn):
            result = await ops.execute_statement(conn, who.role, sql, params or [], **caps)
        await db.name_types(result.columns)
        return rows_result(result)

    return mcp
