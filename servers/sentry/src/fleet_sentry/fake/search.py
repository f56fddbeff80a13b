"""Sentry's search syntax and time periods as the fake understands them (and Sentry's 400s for bad ones)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["IS_VALUES", "QueryError", "as_number", "iso", "now", "parse_search", "period"]

_TOKEN = re.compile(r'(!?)([A-Za-z_][\w.]*):("[^"]*"|\[[^\]]*\]|[^\s()]*)|"[^"]*"|[^\s()]+|[()]')
_PERIOD = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
IS_VALUES = (
    "resolved",
    "unresolved",
    "ignored",
    "archived",
    "assigned",
    "unassigned",
    "for_review",
    "linked",
)


class QueryError(Exception):
    """Sentry's 400 for a search it can't parse."""


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def period(value: str | None) -> timedelta | None:
    if not value:
        return None
    found = _PERIOD.match(value)
    if not found:
        raise QueryError(f"Invalid stats_period. Valid choices are of the form '14d', '24h': got {value!r}")
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def parse_search(query: str) -> list[tuple[bool, str | None, str]]:
    """Sentry search syntax → (negated, key or None for free text, value). Raises QueryError like Sentry."""
    if query.count('"') % 2:
        raise QueryError(f"Parse error at '\"' (column {query.index(chr(34)) + 1}). Unbalanced quotes.")
    depth = 0
    terms: list[tuple[bool, str | None, str]] = []
    for match in _TOKEN.finditer(query):
        text = match.group(0)
        if text in ("(", ")"):
            depth += 1 if text == "(" else -1
            if depth < 0:
                break
            continue
        if match.group(2):
            value = match.group(3).strip('"')
            if not value:
                raise QueryError(f"Empty string after '{match.group(2)}:'")
            terms.append((bool(match.group(1)), match.group(2), value))
        elif text.upper() not in ("AND", "OR"):
            terms.append((False, None, text.strip('"')))
    if depth != 0:
        column = query.rfind("(" if depth > 0 else ")") + 1
        raise QueryError(
            f"Parse error at '{query[column - 1 : column + 9]}' (column {column}). "
            "This is commonly caused by unmatched parentheses. Enclose any text in double quotes."
        )
    return terms


def as_number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
