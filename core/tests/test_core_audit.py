"""The audit line's argument digest: a canonical hash, so equal arguments give equal digests in any key order,
and the precomputed no-argument digests are the ones the canonical form gives."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from fleet_core._audit import audit, audit_logger, digest


def canonical(arguments: Any) -> str:
    text = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


@pytest.mark.parametrize(
    "arguments",
    [
        None,
        {},
        {"owner": "alice", "repo": "demo", "number": 1},
        {"b": [1, 2.5, None, "é😀\u0000"], "a": {"z": 1, "y": True}},
        [],
        "text",
        {"when": datetime(2026, 12, 3, tzinfo=UTC)},
    ],
)
def test_digest_is_the_sha256_of_the_canonical_json(arguments: Any) -> None:
    assert digest(arguments) == canonical(arguments)


def test_equal_arguments_digest_alike_in_any_key_order_and_different_ones_do_not() -> None:
    assert digest({"a": 1, "b": 2}) == digest({"b": 2, "a": 1})
    assert digest({"a": 1}) != digest({"a": 2})
    assert digest(None) != digest({})  # `arguments` absent and `arguments: {}` stay distinguishable


def test_an_audit_line_is_one_json_object_with_the_fields_given(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=audit_logger.name):
        audit("notes", "ok", None, tool="write_note", args=digest({"text": "secret"}), weird=object())
    (record,) = [r for r in caplog.records if r.name == audit_logger.name]
    line = json.loads(record.getMessage())
    assert line["server"] == "notes"
    assert line["outcome"] == "ok"
    assert line["tool"] == "write_note"
    assert line["args"] == canonical({"text": "secret"})
    assert "secret" not in record.getMessage()
    assert line["time"].endswith("Z")
    assert line["weird"].startswith("<object object")
