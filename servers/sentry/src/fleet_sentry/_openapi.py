"""The Sentry OpenAPI 3 subset the project carries, checked with the shared spec checker
(`fleet_core.specfake`, OpenAPI 3 dialect), plus what the fake takes from it: examples to seed its
data, and response schemas to fill fields the list answers mark required.

It is strict on purpose: a query parameter the spec doesn't declare, a repeated scalar, a value of
the wrong type or outside its enum, a body that doesn't match its schema — each is a violation, so
the tests prove that every request the server makes is one Sentry documents.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from fleet_core.specfake import OpenAPI3, Operation, SpecChecker, to_json_schema

__all__ = ["example", "fill_required", "load_checker", "response_schema", "to_json_schema"]


def fill_required(schema: dict[str, Any], value: Any) -> Any:
    """Add any required-but-missing properties with the plainest value their schema allows.

    Sentry's list schemas mark every `expand=`-dependent field required; the fake fills them the
    way the real API does when they are not expanded (empty or null), so its answers validate.
    """
    if not isinstance(value, dict) or schema.get("type") != "object":
        return value
    props = schema.get("properties", {})
    for name in schema.get("required", []):
        if name in value:
            continue
        sub = props.get(name, {})
        kind = sub.get("type")
        if sub.get("nullable"):
            value[name] = None
        else:
            blank: Any = {"string": "", "integer": 0, "number": 0, "boolean": False, "array": []}.get(kind)
            value[name] = blank if kind != "object" else fill_required(sub, {})
    return value


def response_schema(op: Operation, status: int = 200) -> dict[str, Any]:
    return dict(op.spec["responses"][str(status)]["content"]["application/json"]["schema"])


def example(op: Operation, status: int = 200) -> Any:
    content = op.spec["responses"][str(status)]["content"]["application/json"]
    found: Any = content.get("example") or next(iter(content.get("examples", {}).values()), {})
    return found["value"] if isinstance(found, dict) and "value" in found else found


@cache
def load_checker() -> SpecChecker:
    document = json.loads(resources.files("fleet_sentry").joinpath("_spec/sentry-subset.json").read_text())
    return SpecChecker(document, OpenAPI3(document))
