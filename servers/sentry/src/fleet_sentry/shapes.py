"""Reading Sentry's answers defensively: fields the spec leaves loose (strings for counts, untyped
`{}` items) are parsed without crashing, and long text is clipped with a marker."""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_TEXT", "clip", "count", "obj", "objs"]

MAX_TEXT = 300


def count(value: Any) -> int | None:
    """Sentry types some counts as strings ("12"); any string is spec-legal, so parse, never crash."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    text = str(value).strip().replace(",", "").replace("_", "")
    try:
        return int(text) if text.lstrip("-").isdigit() else int(float(text))
    except (ValueError, OverflowError):
        return None


def obj(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else {} — for fields the spec leaves untyped (`{}`)."""
    return value if isinstance(value, dict) else {}


def objs(value: Any) -> list[dict[str, Any]]:
    """The JSON objects in `value` if it is a list; other items (strings, nulls…) are skipped."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def clip(text: str | None, limit: int = MAX_TEXT) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}…[+{len(text) - limit} chars]"
