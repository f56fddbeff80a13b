"""Checks requests and responses against the Gitea API v1 spec subset the project carries.

`_spec/gitea-subset.json` is extracted from the official swagger by `scripts/extract_spec.py`;
the fake Gitea (the fake/ package) runs every request the server makes through `SpecChecker.check_request`
and every answer it gives through `check_response`, so a call the real API wouldn't accept (or a
fake answer the real API wouldn't give) is a recorded violation that fails the tests.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import unquote

import jsonschema

__all__ = ["Operation", "SpecChecker", "load_subset"]


@cache
def load_subset() -> dict[str, Any]:
    subset: dict[str, Any] = json.loads(
        resources.files("fleet_gitea").joinpath("_spec/gitea-subset.json").read_text()
    )
    return subset


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    spec: dict[str, Any]
    regex: re.Pattern[str]
    literal_chars: int

    @property
    def operation_id(self) -> str:
        return str(self.spec.get("operationId", ""))


@dataclass
class Match:
    operation: Operation
    path_params: dict[str, str] = field(default_factory=dict)


def _compile(template: str) -> re.Pattern[str]:
    out, pos = "", 0
    for m in re.finditer(r"\{([^}]+)\}", template):
        out += re.escape(template[pos : m.start()])
        name = m.group(1)
        # Gitea routes {filepath} and compare's {basehead} as wildcards that may span slashes.
        out += f"(?P<{name}>.+)" if name in ("filepath", "basehead") else f"(?P<{name}>[^/]+)"
        pos = m.end()
    out += re.escape(template[pos:])
    return re.compile(f"^{out}$")


def _strict(schema: Any) -> Any:
    """Request bodies: unknown properties are violations (Gitea would silently drop them)."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [_strict(v) for v in schema]
    return schema


class SpecChecker:
    def __init__(self, subset: dict[str, Any] | None = None) -> None:
        self.subset = subset or load_subset()
        self.base = self.subset["basePath"]
        self.operations: list[Operation] = []
        for template, methods in self.subset["paths"].items():
            for method, spec in methods.items():
                literal = len(re.sub(r"\{[^}]+\}", "", template))
                self.operations.append(Operation(method.upper(), template, spec, _compile(template), literal))
        # Literal segments win over parameters, as in Gitea's router (/repos/issues/search vs /repos/{o}/{r}).
        self.operations.sort(key=lambda op: -op.literal_chars)
        self._strict_defs = _strict(copy.deepcopy(self.subset["definitions"]))

    def match(self, method: str, path: str) -> tuple[Match | None, list[str]]:
        if not path.startswith(self.base + "/"):
            return None, [f"{method} {path}: outside basePath {self.base}"]
        rel = path[len(self.base) :]
        methods_seen = []
        for op in self.operations:
            m = op.regex.match(rel)
            if not m:
                continue
            params = {p["name"]: p for p in op.spec.get("parameters", []) if p["in"] == "path"}
            values = {k: unquote(v) for k, v in m.groupdict().items()}
            if not all(_type_ok(params[name], value) for name, value in values.items()):
                continue
            if op.method != method:
                methods_seen.append(op.method)
                continue
            return Match(op, values), []
        if methods_seen:
            return None, [f"{method} {rel}: method not in spec (spec has {sorted(set(methods_seen))})"]
        return None, [f"{method} {rel}: no such path in the spec subset"]

    def check_request(
        self, match: Match, query: list[tuple[str, str]], body: bytes, content_type: str
    ) -> list[str]:
        op = match.operation
        where = f"{op.method} {op.template} ({op.operation_id})"
        errors: list[str] = []
        params = op.spec.get("parameters", [])
        by_name = {p["name"]: p for p in params if p["in"] == "query"}
        seen: dict[str, list[str]] = {}
        for name, value in query:
            seen.setdefault(name, []).append(value)
        for name, values in seen.items():
            spec = by_name.get(name)
            if spec is None:
                errors.append(f"{where}: unknown query parameter {name!r}")
                continue
            if len(values) > 1 and spec.get("type") != "array":
                errors.append(f"{where}: query parameter {name!r} repeated")
            for value in values:
                item_spec = spec.get("items", {}) if spec.get("type") == "array" else spec
                if not _type_ok(item_spec, value):
                    errors.append(
                        f"{where}: query parameter {name!r}={value!r} is not a valid {_describe(spec)}"
                    )
        for spec in params:
            if spec["in"] == "query" and spec.get("required") and spec["name"] not in seen:
                errors.append(f"{where}: required query parameter {spec['name']!r} missing")
        body_spec = next((p for p in params if p["in"] == "body"), None)
        if body_spec is None:
            if body:
                errors.append(f"{where}: request has a body but the operation takes none")
            return errors
        if not body:
            if body_spec.get("required"):
                errors.append(f"{where}: required JSON body missing")
            return errors
        if "application/json" not in content_type:
            errors.append(f"{where}: body content-type {content_type!r}, spec consumes application/json")
        try:
            doc = json.loads(body)
        except ValueError:
            return [*errors, f"{where}: body is not JSON"]
        schema = {**_strict(body_spec["schema"]), "definitions": self._strict_defs}
        for err in jsonschema.Draft4Validator(schema).iter_errors(doc):
            loc = "/".join(str(p) for p in err.absolute_path) or "<body>"
            errors.append(f"{where}: body {loc}: {err.message}")
        return errors

    def check_response(self, match: Match, status: int, payload: Any) -> list[str]:
        op = match.operation
        where = f"{op.method} {op.template} -> {status}"
        responses = op.spec.get("responses", {})
        entry = responses.get(str(status))
        if entry is None:
            return [f"{where}: status {status} not documented for {op.operation_id}"]
        if "$ref" in entry:
            entry = self.subset["responses"][entry["$ref"].split("/")[-1]]
        schema = entry.get("schema")
        if schema is None or payload is None:
            return []
        full = {**_strict(schema), "definitions": self._strict_defs}
        return [
            f"{where}: response {'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in jsonschema.Draft4Validator(full).iter_errors(payload)
        ]


def _describe(spec: dict[str, Any]) -> str:
    return str(spec.get("enum") or spec.get("type", "value"))


def _type_ok(spec: dict[str, Any], value: str) -> bool:
    if "enum" in spec and value not in spec["enum"]:
        return False
    kind = spec.get("type")
    if kind == "integer":
        if re.fullmatch(r"-?\d+", value) is None:
            return False
        number = int(value)
        low: int = spec.get("minimum", number)
        high: int = spec.get("maximum", number)
        return low <= number <= high
    if kind == "boolean":
        return value in ("true", "false")
    return True
