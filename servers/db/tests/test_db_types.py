"""Output types of run_query: every type PostgreSQL commonly returns, through the tool, must come back
exactly as the reference encoding gives it — psycopg's rows (the server's loaders) through
`json.dumps(default=str)` with non-finite floats spelled as strings, which is what the tool returned before
its rows were encoded by pydantic-core (issue 18). Strict: an int must stay an int (1 == 1.0 would hide a
change), a string a string."""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import AsyncIterator
from typing import Any

import anyio
import orjson
import psycopg
import pydantic_core
import pytest
from mcp import Client

from fleet_core import ToolError
from fleet_core.testing import acting_as, identity, in_own_task, text_of
from fleet_db import Database, build_server, ops
from fleet_db.backend import CallContext
from fleet_db.settings import DbSettings

AUD = "http://127.0.0.1:8700/mcp/db"

# (expression, what it exercises); one column each, then the same expressions again as NULLs
TYPES = [
    ("32767::int2", "int2"),
    ("2147483647::int4", "int4"),
    ("9223372036854775807::int8", "int8 beyond 2^53"),
    ("(-9223372036854775807 - 1)::int8", "int8 min"),
    ("123456789012345678901234567890.000001::numeric", "numeric beyond float precision"),
    ("'NaN'::numeric", "numeric NaN"),
    ("'Infinity'::numeric", "numeric infinity"),
    ("1.50::numeric(10, 2)", "numeric scale kept"),
    ("1.5::float4", "float4"),
    ("0.1::float8 + 0.2::float8", "float8 shortest repr"),
    ("1e-7::float8", "float8 small exponent"),
    ("1e16::float8", "float8 big exponent"),
    ("'-0'::float8", "negative zero"),
    ("'NaN'::float8", "float NaN"),
    ("'Infinity'::float8", "float infinity"),
    ("'-Infinity'::float4", "float4 -infinity"),
    ("ARRAY['NaN'::float8, 1.5, NULL]", "float array with NaN and NULL"),
    ("12.34::money", "money"),
    ("true", "bool"),
    ("E'quote \" backslash \\\\ newline \\n tab \\t bell \\x07 é 中 😀 \\u2028'", "text escapes and unicode"),
    ("'NaN, Infinity'::text", "the words in a string"),
    ("'varchar'::varchar(20)", "varchar"),
    ("'ab'::char(4)", "bpchar padding"),
    ("'x'::name", "name"),
    ("'\\x00ff10'::bytea", "bytea hex"),
    ("date '2026-02-28'", "date"),
    ("'infinity'::date", "date infinity"),
    ("time '12:34:56.789'", "time"),
    ("'12:34:56+02'::timetz", "timetz"),
    ("timestamp '2026-01-01 00:00:00.5'", "timestamp"),
    ("timestamptz '2026-01-01 12:00:00+00'", "timestamptz"),
    ("'-infinity'::timestamptz", "timestamptz -infinity"),
    ("interval '1 year 2 days 03:04:05.6'", "interval"),
    ("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid", "uuid"),
    ("'10.0.0.1/8'::inet", "inet"),
    ("'10.0.0.0/8'::cidr", "cidr"),
    ("'08:00:2b:01:02:03'::macaddr", "macaddr"),
    ('\'{"k": [1, null, 2.5, "s"], "big": 12345678901234567890123, "f": 1e400}\'::json', "json"),
    ('\'{"k": [1, null, 2.5], "big": 12345678901234567890123, "n": 1.0}\'::jsonb', "jsonb"),
    ('\'[1, "two", {"3": false}]\'::jsonb', "jsonb array"),
    ("ARRAY['{\"a\": 1}'::jsonb, NULL]", "jsonb array type"),
    ("ARRAY[1, NULL, 3]", "int array with NULL"),
    ("ARRAY[[1, 2], [3, 4]]", "2-d array"),
    ("ARRAY['a\"b', NULL, 'c,d']", "text array quoting"),
    ("ARRAY[1.5::numeric, NULL]", "numeric array"),
    ("ARRAY[date '2026-01-01']", "date array"),
    ("ARRAY[true, false]", "bool array"),
    ("'{}'::int4[]", "empty array"),
    ("B'101'", "bit"),
    ("B'1'::varbit", "varbit"),
    ("'a fat cat'::tsvector", "tsvector"),
    ("'fat & cat'::tsquery", "tsquery"),
    ("'(1,2)'::point", "point"),
    ("'((0,0),(1,1))'::box", "box"),
    ("int4range(1, 5)", "int4range"),
    ("tstzrange('2026-01-01', '2026-01-02')", "tstzrange"),
    ("'{[1,3), [5,7)}'::int4multirange", "multirange"),
    ("'ok'::demo.types_mood", "enum"),
    ("ROW(1, 'a', NULL)::demo.types_pair", "composite"),
    ("ROW(1, 'x')", "anonymous record"),
    ("1::oid", "oid"),
    ("'<a>x</a>'::xml", "xml"),
    ("'0/16B3748'::pg_lsn", "pg_lsn"),
    ("pg_sleep(0)", "void"),
    ("'public'::regnamespace", "regnamespace"),
]


def reference(rows: list[Any]) -> Any:
    """What the tool returned before: json.dumps(default=str) of psycopg's rows, NaN/Infinity as strings."""
    return json.loads(json.dumps(ops._finite(rows), default=str, ensure_ascii=False, separators=(",", ":")))


def strict(a: Any, b: Any, where: str = "") -> None:
    assert type(a) is type(b), f"{where}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})"
    if isinstance(a, list):
        assert len(a) == len(b), f"{where}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            strict(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert sorted(a) == sorted(b), f"{where}: {a!r} != {b!r}"
        for k in a:
            strict(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.fixture
def typed(admin: psycopg.Connection[Any]) -> Any:
    admin.execute(
        "DROP TYPE IF EXISTS demo.types_mood, demo.types_pair; "
        "CREATE TYPE demo.types_mood AS ENUM ('ok', 'sad'); "
        "CREATE TYPE demo.types_pair AS (n int, s text, x text)"
    )
    yield
    admin.execute("DROP TYPE demo.types_mood, demo.types_pair")


@pytest.fixture
async def client(settings: DbSettings, database: Database, typed: Any) -> AsyncIterator[Client]:
    with acting_as(identity("alice", "db:read", audience=AUD)):
        async with in_own_task(Client(build_server(settings, database))) as c:
            yield c


async def psycopg_rows(database: Database, sql: str) -> list[Any]:
    """The rows as the server's own connections load them (its loaders), without the tool's encoding."""
    async with database.session(CallContext(role="fleet_reader", subject="alice", claims={})) as conn:
        cur = await conn.execute(sql)
        return [list(row) for row in await cur.fetchall()]


SELECT = "SELECT " + ", ".join(f"{expr} AS c{i}" for i, (expr, _) in enumerate(TYPES))  # test constants only
NULLS = f"SELECT t.* FROM ({SELECT}) t RIGHT JOIN (SELECT 1) one ON false"  # noqa: S608 - all NULL, typed
WORDS = "SELECT 'NaN' AS a, '-Infinity' AS b, 1 AS c"  # no column that can hold a float


@pytest.mark.parametrize(
    "sql", [SELECT, SELECT + " UNION ALL " + SELECT, NULLS, WORDS], ids=["one", "two", "nulls", "no-floats"]
)
async def test_every_type_comes_back_as_the_reference_encoding_gives_it(
    client: Client, database: Database, sql: str
) -> None:
    with anyio.fail_after(20):
        result = await client.call_tool("run_query", {"sql": sql})
    assert not result.is_error, text_of(result)
    structured = result.structured_content or {}
    expected = reference(await psycopg_rows(database, sql))
    for i, (row, want) in enumerate(zip(structured["rows"], expected, strict=True)):
        for j, (got, ref) in enumerate(zip(row, want, strict=True)):
            strict(got, ref, f"row {i} column {j} ({TYPES[j][1] if sql != WORDS else ''})")
    strict(json.loads(text_of(result)), structured, "text content")


async def test_the_reference_really_covers_the_tricky_values(database: Database, typed: Any) -> None:
    row = reference(await psycopg_rows(database, SELECT))[0]
    values = dict(zip((what for _, what in TYPES), row, strict=True))
    assert values["int8 beyond 2^53"] == 9223372036854775807
    assert values["numeric beyond float precision"] == "123456789012345678901234567890.000001"
    assert values["float NaN"] == "NaN"
    assert values["float array with NaN and NULL"] == ["NaN", 1.5, None]
    assert values["json"]["f"] == "Infinity"
    assert values["jsonb"]["big"] == 12345678901234567890123
    assert values["negative zero"] == 0.0
    assert math.copysign(1, values["negative zero"]) == -1
    assert values["composite"] == "(1,a,)"


async def test_the_fast_encoder_writes_pydantic_cores_bytes_for_every_type_without_floats(
    database: Database, typed: Any
) -> None:
    # Results without a float column are encoded by orjson (ops._encode): byte for byte what pydantic-core,
    # the encoder the reference test above pins, writes for the same rows — so the text content is the same.
    async with database.session(CallContext(role="fleet_reader", subject="alice", claims={})) as conn:
        cur = await conn.execute(f"{SELECT} UNION ALL {NULLS}")
        rows = await cur.fetchall()
        keep = [i for i, d in enumerate(cur.description or ()) if d.type_code not in ops._FLOAT_OIDS]
    assert len(keep) > 50
    plain = [tuple(row[i] for i in keep) for row in rows]
    plain.append(('\x00\x01\x1f\x7f " \\ / \u2028 é 中 😀', 9223372036854775807, -1, True, None, ["x", None]))
    fast = ops._encode(plain, floats=False)[1]
    assert fast == orjson.dumps(plain)  # orjson wrote it, no fallback
    assert fast == pydantic_core.to_json(plain, inf_nan_mode="strings", fallback=str)


class Text(str):
    pass


@pytest.mark.parametrize(
    "value",
    [2**64, -(2**63) - 1, Text("a str subclass"), datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)],
    ids=["int-beyond-64-bits", "int-below-int64", "str-subclass", "datetime"],
)
def test_what_orjson_would_write_differently_goes_to_pydantic_core(value: Any) -> None:
    rows = [(1, value)]
    assert ops._encode(rows, floats=False)[1] == pydantic_core.to_json(rows, fallback=str)


def test_a_lone_surrogate_is_refused_on_either_encoder() -> None:
    for floats in (False, True):
        with pytest.raises(ToolError, match="not valid Unicode"):
            ops._encode([("ok", "\ud800")], floats=floats)
