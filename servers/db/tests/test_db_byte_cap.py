"""The byte cap (FLEET_DB_MAX_BYTES) counts UTF-8 bytes of the rows' compact JSON as it is sent, not
characters: rows of 3- and 4-byte characters and of values JSON must escape (control characters, NUL in a
json value, quotes, backslashes) just under, at and just over the cap. At or under the cap every row comes
back; over it the result ends at the last whole row that fits, with truncated_reason "max_bytes", and the
rows never take more bytes than the cap — in the structured content and in the text content alike.

A value UTF-8 can't carry (a lone UTF-16 surrogate) is refused with a clear message, not a crash."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest
from mcp import Client

from fleet_core.testing import acting_as, identity, in_own_task, text_of
from fleet_db import Database, build_server
from fleet_db.settings import DbSettings

AUD = "http://127.0.0.1:8700/mcp/db"
CAP = 1024  # the smallest cap the settings allow
ROWS = 3
# One text column per row: a row is `["V"]`, 4 bytes + V's; 3 rows: 2 brackets + 2 commas + 3 rows, so
# the JSON is 1 + 3 * (5 + len(V)) bytes, exactly CAP when V takes 336 bytes.
AT_CAP = (CAP - 1) // ROWS - 5

# (id, one character, the UTF-8 bytes it takes in the JSON, SQL of ROWS rows of $1 characters)
TEXT = "SELECT repeat($2::text, $1::int) AS v FROM generate_series(1, 3)"
CASES = [
    ("cjk-3-bytes", "中", 3, TEXT),
    ("emoji-4-bytes", "😀", 4, TEXT),
    ("control-char-escaped-6-bytes", "\x01", 6, TEXT),
    ("quote-escaped-2-bytes", '"', 2, TEXT),
    ("backslash-escaped-2-bytes", "\\", 2, TEXT),
    # PostgreSQL's text can't hold NUL, its json type can: it loads as "\x00", sent as \u0000
    (
        "nul-in-json-escaped-6-bytes",
        "\x00",
        6,
        "SELECT ('\"' || repeat('\\u0000', $1::int) || '\"')::json AS v FROM generate_series(1, 3)",
    ),
]


@pytest.fixture
def capped(make_settings: Callable[..., DbSettings]) -> DbSettings:
    return make_settings(max_bytes=CAP, max_rows=10_000, pool_min_size=1, pool_max_size=1)


@pytest.fixture
async def client(capped: DbSettings, db_url: str) -> AsyncIterator[Client]:
    db = Database(capped, db_url)
    await db.open()
    try:
        with acting_as(identity("alice", "db:read db:write", audience=AUD)):
            async with in_own_task(Client(build_server(capped, db))) as c:
                yield c
    finally:
        await db.close()


async def call(client: Client, sql: str, params: list[Any], tool: str = "run_query") -> Any:
    with anyio.fail_after(30):
        return await client.call_tool(tool, {"sql": sql, "params": params})


def args(sql: str, count: int, char: str) -> list[Any]:
    return [count, char] if "$2" in sql else [count]


def sent_rows(result: Any) -> tuple[dict[str, Any], int]:
    """The structured content, and the UTF-8 bytes of the rows' JSON as the text content carries it (the
    compact encoding of the same rows the structured content has: checked here)."""
    assert not result.is_error, text_of(result)
    structured = result.structured_content or {}
    text = text_of(result)
    assert json.loads(text) == structured
    rows_json = text[text.index(',"rows":') + len(',"rows":') : -1]
    assert json.loads(rows_json) == structured["rows"]
    encoded = json.dumps(structured["rows"], ensure_ascii=False, separators=(",", ":")).encode()
    assert len(rows_json.encode()) == len(encoded)  # what the structured content's rows take, too
    return structured, len(encoded)


def test_the_cases_are_sized_as_the_test_assumes() -> None:
    for _, char, width, _ in CASES:
        one = json.dumps([char], ensure_ascii=False, separators=(",", ":")).encode()
        assert len(one) == 4 + width
        n = AT_CAP // width
        assert n * width == AT_CAP  # every case lands exactly on the cap
        rows = json.dumps([[char * n]] * ROWS, ensure_ascii=False, separators=(",", ":")).encode()
        assert len(rows) == CAP
        if not char.isascii():
            assert len(rows.decode()) < CAP  # counted in characters it would fit: the bug this pins


@pytest.mark.parametrize(("case", "char", "width", "sql"), CASES, ids=[c[0] for c in CASES])
async def test_rows_just_under_and_at_the_cap_all_come_back(
    client: Client, case: str, char: str, width: int, sql: str
) -> None:
    n = AT_CAP // width
    for count, size in ((n - 1, CAP - ROWS * width), (n, CAP)):
        structured, sent = sent_rows(await call(client, sql, args(sql, count, char)))
        assert structured["truncated"] is False, (case, count)
        assert structured["truncated_reason"] is None
        assert structured["row_count"] == ROWS
        assert structured["rows"] == [[char * count]] * ROWS
        assert sent == size <= CAP


@pytest.mark.parametrize(("case", "char", "width", "sql"), CASES, ids=[c[0] for c in CASES])
async def test_rows_just_over_the_cap_are_truncated_at_the_last_whole_row(
    client: Client, case: str, char: str, width: int, sql: str
) -> None:
    n = AT_CAP // width + 1  # one character more per row: 3 rows are CAP + 3 * width bytes
    structured, sent = sent_rows(await call(client, sql, args(sql, n, char)))
    assert structured["truncated"] is True
    assert structured["truncated_reason"] == "max_bytes"
    assert structured["row_count"] == ROWS - 1
    assert structured["rows"] == [[char * n]] * (ROWS - 1)
    assert sent == 1 + (ROWS - 1) * (5 + n * width) <= CAP


@pytest.mark.parametrize(("char", "width"), [("中", 3), ("😀", 4)])
async def test_a_single_row_over_the_cap_in_bytes_but_not_in_characters_is_dropped(
    client: Client, char: str, width: int
) -> None:
    n = (CAP - 6) // width + 1  # `[["V"]]`: 6 bytes + V's, one character over the cap
    assert 6 + n < CAP < 6 + n * width
    structured, sent = sent_rows(await call(client, "SELECT repeat($2::text, $1::int)", [n, char]))
    assert (structured["row_count"], structured["rows"]) == (0, [])
    assert structured["truncated_reason"] == "max_bytes"
    assert sent == 2
    # one character fewer fits exactly
    structured, sent = sent_rows(await call(client, "SELECT repeat($2::text, $1::int)", [n - 1, char]))
    assert structured["row_count"] == 1
    assert sent == 6 + (n - 1) * width <= CAP


async def test_the_cap_falls_inside_a_later_chunk_of_many_multibyte_rows(
    make_settings: Callable[..., DbSettings], db_url: str
) -> None:
    # 5,000 rows streamed in chunks of 2,000: each row `["中中…"]` is 34 bytes (14 characters) + a comma
    cap = 50_000
    settings = make_settings(max_bytes=cap, max_rows=10_000)
    db = Database(settings, db_url)
    await db.open()
    try:
        with acting_as(identity("alice", "db:read", audience=AUD)):
            async with Client(build_server(settings, db)) as c:
                result = await call(c, "SELECT repeat('中', 10) FROM generate_series(1, 5000)", [])
    finally:
        await db.close()
    structured, sent = sent_rows(result)
    assert structured["truncated_reason"] == "max_bytes"
    assert structured["row_count"] == (cap - 1) // 35 == 1428  # 1 + 35 * rows bytes
    assert sent == 1 + 35 * 1428 <= cap < sent + 35


async def test_writes_returning_rows_are_capped_in_bytes_too(client: Client) -> None:
    # execute_statement shares the cap: a SELECT through it, 3 rows one character over
    n = AT_CAP // 3 + 1
    structured, sent = sent_rows(await call(client, TEXT, [n, "中"], tool="execute_statement"))
    assert structured["truncated_reason"] == "max_bytes"
    assert structured["row_count"] == ROWS - 1
    assert sent <= CAP


@pytest.mark.parametrize(
    "sql", ["SELECT '\"\\ud800\"'::json", 'SELECT \'["ok", "x\\udc00y"]\'::json, 1'], ids=["high", "low"]
)
async def test_a_json_value_with_a_lone_surrogate_is_refused_clearly(client: Client, sql: str) -> None:
    result = await call(client, sql, [])
    assert result.is_error
    message = text_of(result)
    assert "not valid Unicode (a lone UTF-16 surrogate" in message
    assert "the backend answered in a shape" not in message  # not the crash guard's generic answer
    # the one pooled connection is still good
    structured, _ = sent_rows(await call(client, "SELECT 'after'", []))
    assert structured["rows"] == [["after"]]


@pytest.mark.parametrize(
    ("tool", "sql", "params"),
    [
        ("run_query", "SELECT $1::text", ["\ud800"]),
        ("run_query", "SELECT $1::text, $2::text", ["ok", "a\udfffb"]),
        ("execute_statement", "SELECT $1::text", ["x\udbff"]),
    ],
)
async def test_a_lone_surrogate_in_a_parameter_is_refused_clearly(
    client: Client, tool: str, sql: str, params: list[Any]
) -> None:
    result = await call(client, sql, params, tool=tool)
    assert result.is_error
    message = text_of(result)
    assert "the statement could not be sent: the SQL or a parameter is not valid Unicode (\\u" in message
    assert "the backend answered in a shape" not in message  # not the crash guard's generic answer
    structured, _ = sent_rows(await call(client, "SELECT 'after'", []))
    assert structured["rows"] == [["after"]]


@pytest.mark.parametrize("tool", ["run_query", "execute_statement"])
async def test_a_lone_surrogate_in_the_sql_is_refused_by_argument_validation(
    client: Client, tool: str
) -> None:
    result = await call(client, "SELECT 'a\udfff'", [], tool=tool)
    assert result.is_error
    assert "Input should be a valid string" in text_of(result)


def test_the_setting_says_bytes() -> None:
    description = DbSettings.model_fields["max_bytes"].description or ""
    assert "UTF-8 bytes" in description
