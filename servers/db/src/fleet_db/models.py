"""Structured results of the fleet-db tools."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

__all__ = [
    "Column",
    "ColumnInfo",
    "ConstraintInfo",
    "ExplainResult",
    "ForeignKeyInfo",
    "HealthReport",
    "IndexInfo",
    "PolicyInfo",
    "QueryResult",
    "SchemaInfo",
    "SchemaList",
    "StatementResult",
    "TableDescription",
    "TableInfo",
    "TableList",
    "TopQueries",
    "TopQuery",
]


class Column(BaseModel):
    name: str = Field(description="Column name as returned by the query")
    type: str = Field(description="PostgreSQL type name")


class QueryResult(BaseModel):
    columns: list[Column] = Field(description="Result columns, in order")
    # list[Any] + a hand-written items schema: validating list[list[Any]] copies every row (10k rows: ~20 ms)
    rows: list[Any] = Field(
        description="Rows as arrays in column order; numeric, date/time, uuid etc. come back as strings",
        json_schema_extra={"items": {"type": "array"}},
    )
    row_count: int = Field(description="Rows returned here")
    truncated: bool = Field(description="True when more rows existed than the row or byte cap allows")
    truncated_reason: str | None = Field(default=None, description="'max_rows' or 'max_bytes' when truncated")
    role: str = Field(description="Database role the query ran as")
    # the rows' compact JSON, encoded while streaming: one part per chunk of rows, without the brackets
    _row_parts: list[str] | None = PrivateAttr(default=None)


class StatementResult(QueryResult):
    status: str = Field(description="PostgreSQL command tag, e.g. 'UPDATE 2'")
    affected_rows: int = Field(description="Rows inserted/updated/deleted (-1 when not applicable)")


class SchemaInfo(BaseModel):
    name: str
    owner: str
    comment: str | None = None


class SchemaList(BaseModel):
    schemas: list[SchemaInfo] = Field(description="Schemas the caller's role may use")


class TableInfo(BaseModel):
    schema_name: str
    name: str
    kind: str = Field(description="table, view, materialized view, foreign table or partitioned table")
    estimated_rows: int | None = Field(description="Planner estimate (reltuples); null when never analyzed")
    comment: str | None = None
    privileges: list[str] = Field(description="What the caller's role may do: SELECT, INSERT, UPDATE, DELETE")
    row_level_security: bool


class TableList(BaseModel):
    tables: list[TableInfo]
    truncated: bool


class ColumnInfo(BaseModel):
    name: str
    type: str
    nullable: bool
    default: str | None = None
    comment: str | None = None


class ConstraintInfo(BaseModel):
    name: str
    type: str = Field(description="primary key, unique, check, foreign key, exclusion")
    definition: str


class IndexInfo(BaseModel):
    name: str
    definition: str
    unique: bool
    primary: bool


class ForeignKeyInfo(BaseModel):
    name: str
    columns: list[str]
    references_table: str
    references_columns: list[str]


class PolicyInfo(BaseModel):
    name: str
    command: str
    permissive: bool
    roles: list[str]
    using: str | None = None
    with_check: str | None = None


class TableDescription(BaseModel):
    schema_name: str
    name: str
    kind: str
    comment: str | None = None
    columns: list[ColumnInfo]
    constraints: list[ConstraintInfo]
    indexes: list[IndexInfo]
    foreign_keys: list[ForeignKeyInfo]
    row_level_security: bool
    force_row_level_security: bool
    policies: list[PolicyInfo]


class ExplainResult(BaseModel):
    plan: list[dict[str, Any]] | dict[str, Any] = Field(description="PostgreSQL's JSON plan")
    analyzed: bool = Field(description="True when the query was executed (EXPLAIN ANALYZE, read-only)")
    role: str
    note: str | None = Field(
        default=None, description="Why the plan is shown without costs or row estimates, when it is"
    )


class TopQuery(BaseModel):
    query: str = Field(description="Normalized statement text")
    calls: int
    total_ms: float
    mean_ms: float
    rows: int
    shared_blocks_hit: int
    shared_blocks_read: int


class TopQueries(BaseModel):
    available: bool = Field(description="False when pg_stat_statements is not installed/loaded")
    message: str | None = None
    order_by: str
    queries: list[TopQuery]


class HealthReport(BaseModel):
    server_version: str
    connections: dict[str, int] = Field(description="Backends by state, plus max_connections")
    cache_hit_ratio: float | None = Field(description="Shared-buffer hit ratio of this database (0..1)")
    long_running: list[dict[str, Any]] = Field(
        description="Non-idle backends running longer than the threshold"
    )
    blocking_locks: list[dict[str, Any]] = Field(description="Blocked backends and who blocks them")
    bloat: list[dict[str, Any]] = Field(description="Tables with the most dead tuples (a bloat estimate)")
    unused_indexes: list[dict[str, Any]] = Field(
        description="Non-unique indexes never scanned since stats reset"
    )
    notes: list[str] = Field(default_factory=list, description="What the caller's role could not see")
