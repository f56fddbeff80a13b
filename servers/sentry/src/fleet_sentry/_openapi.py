"""A small OpenAPI 3.0 request/response checker over the carried spec subset (used by the fake).

It is strict on purpose: a query parameter the spec doesn't declare, a repeated scalar, a value of
the wrong type or outside its enum, a body that doesn't match its schema — each is a violation, so
the tests prove that every request the server makes is one Sentry documents.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

__all__ = ["Operation", "Spec", "fill_required", "load_spec", "to_json_schema"]


def to_json_schema(schema: Any) -> Any:
    """OpenAPI 3.0 schema → JSON Schema: `nullable: true` becomes a "null" type (and enum member)."""
    if isinstance(schema, list):
        return [to_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: to_json_schema(v) for k, v in schema.items() if k not in ("nullable", "example", "examples")}
    if schema.get("nullable"):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if "type" not in out and any(k in out for k in ("allOf", "anyOf", "oneOf", "properties")):
            out = {"anyOf": [out, {"type": "null"}]}
    return out


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


def _errors(schema: Any, value: Any) -> list[str]:
    validator = jsonschema.Draft7Validator(to_json_schema(schema))
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(value)
    ]


def _coerce(schema: dict[str, Any], raw: str) -> Any:
    kinds = [schema.get("type")] + [s.get("type") for s in schema.get("anyOf", [])]
    if "integer" in kinds and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if "boolean" in kinds and raw in ("true", "false", "1", "0"):
        return raw in ("true", "1")
    return raw


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    spec: dict[str, Any]
    pattern: re.Pattern[str]

    @property
    def operation_id(self) -> str:
        return str(self.spec["operationId"])

    def check_request(
        self, path_params: dict[str, str], query: list[tuple[str, str]], body: bytes | None
    ) -> list[str]:
        problems: list[str] = []
        declared = {p["name"]: p for p in self.spec.get("parameters", [])}
        for name, value in path_params.items():
            problems += [f"path {name}: {e}" for e in _errors(declared[name]["schema"], value)]
        values: dict[str, list[str]] = {}
        for name, value in query:
            values.setdefault(name, []).append(value)
        for name, given in values.items():
            param = declared.get(name)
            if param is None or param["in"] != "query":
                problems.append(f"query parameter {name!r} is not in the spec")
                continue
            schema = param.get("schema", {})
            if schema.get("type") == "array":
                item = schema.get("items", {})
                problems += [f"query {name}: {e}" for v in given for e in _errors(item, _coerce(item, v))]
            elif len(given) > 1:
                problems.append(f"query parameter {name!r} repeated but not an array")
            else:
                problems += [f"query {name}: {e}" for e in _errors(schema, _coerce(schema, given[0]))]
        for name, param in declared.items():
            if param["in"] == "query" and param.get("required") and name not in values:
                problems.append(f"required query parameter {name!r} missing")
        request_body = self.spec.get("requestBody")
        if request_body is None:
            if body:
                problems.append("request body sent but the operation takes none")
        elif not body:
            if request_body.get("required"):
                problems.append("request body required")
        else:
            try:
                document = json.loads(body)
            except ValueError:
                return [*problems, "request body is not JSON"]
            schema = request_body["content"]["application/json"]["schema"]
            problems += [f"body {e}" for e in _errors(schema, document)]
        return problems

    def check_response(self, status: int, document: Any) -> list[str]:
        content = (
            self.spec.get("responses", {}).get(str(status), {}).get("content", {}).get("application/json")
        )
        if content is None or "schema" not in content:
            return [] if status >= 400 else [f"status {status} is not a documented success response"]
        return [f"response {e}" for e in _errors(content["schema"], document)]

    def response_schema(self, status: int = 200) -> dict[str, Any]:
        return dict(self.spec["responses"][str(status)]["content"]["application/json"]["schema"])

    def example(self, status: int = 200) -> Any:
        content = self.spec["responses"][str(status)]["content"]["application/json"]
        example: object = content.get("example") or next(iter(content.get("examples", {}).values()), {})
        return example["value"] if isinstance(example, dict) and "value" in example else example


class Spec:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.operations: list[Operation] = []
        for path, methods in document["paths"].items():
            regex = re.sub(r"\\\{([a-z_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
            for method, spec in methods.items():
                self.operations.append(Operation(path, method.upper(), spec, re.compile(f"^{regex}$")))

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        for op in self.operations:
            found = op.pattern.match(path)
            if found and op.method == method:
                return op, found.groupdict()
        return None

    def by_id(self, operation_id: str) -> Operation:
        return next(op for op in self.operations if op.operation_id == operation_id)


@cache
def load_spec() -> Spec:
    text = resources.files("fleet_sentry").joinpath("_spec/sentry-subset.json").read_text()
    return Spec(json.loads(text))
