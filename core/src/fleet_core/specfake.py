"""The base of the spec-checked fake backends (the fake Gitea and the fake Sentry).

Where a real backend can't run here, its fake follows the backend's official API document, and this
module makes that checkable: `SpecChecker` matches every request to one documented operation and
checks its query parameters and JSON body, and checks every answer against the documented response;
`SpecFake` is the ASGI front both fakes share — read the request, record it, check it, dispatch it to
`op_<operationId>`, check the answer, encode it. A fake subclasses `SpecFake` and says how it
authenticates, how its backend words an error, and which faults it can inject.

Two document dialects: Swagger 2 (Gitea: parameter types inline, `in: body`, `#/definitions`) and
OpenAPI 3 (Sentry: `schema` per parameter, `requestBody`, `nullable`). Each states how it describes
parameters, bodies and responses; matching and checking are the same for both.
"""

from __future__ import annotations

import copy
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import jsonschema

__all__ = [
    "FakeRequest",
    "FakeResponse",
    "Match",
    "OpenAPI3",
    "Operation",
    "SpecChecker",
    "SpecFake",
    "Swagger2",
]

JSON = Any


# -- dialects ----------------------------------------------------------------------------------------


class Dialect(ABC):
    """How one API-description format says what a parameter, a body and a response look like."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    @abstractmethod
    def param_schema(self, param: Mapping[str, Any]) -> dict[str, Any]: ...

    @abstractmethod
    def body(self, op: Mapping[str, Any]) -> tuple[dict[str, Any] | None, bool]:
        """(schema of the JSON body or None when the operation takes none, whether it is required)."""

    @abstractmethod
    def response(self, op: Mapping[str, Any], status: int) -> tuple[bool, dict[str, Any] | None]:
        """(whether `status` is documented, the JSON schema of its body if it has one)."""

    @abstractmethod
    def errors(self, schema: dict[str, Any], value: JSON) -> list[str]: ...

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        return schema

    def minimal(self, schema: Mapping[str, Any] | None, value: JSON) -> JSON:
        """`value` with every property its schema does not require removed, all the way down: the
        sparest answer the spec allows (what tools must survive as well as the full one)."""
        if schema is None:
            return value
        schema = self.resolve(schema)
        if isinstance(value, list):
            items = schema.get("items")
            return [self.minimal(items, v) for v in value]
        if isinstance(value, dict) and "properties" in schema:
            props, required = schema["properties"], set(schema.get("required", []))
            return {k: self.minimal(props.get(k), v) for k, v in value.items() if k in required}
        return value


def _strict(schema: Any) -> Any:
    """Unknown object properties become violations (the backend would silently drop them)."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def _messages(validator: jsonschema.protocols.Validator, value: JSON) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(value)
    ]


class Swagger2(Dialect):
    """Swagger 2.0, strict: unknown properties in bodies and answers are violations."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        super().__init__(document)
        self.definitions = _strict(copy.deepcopy(document.get("definitions", {})))

    def param_schema(self, param: Mapping[str, Any]) -> dict[str, Any]:
        return {
            k: v for k, v in param.items() if k in ("type", "enum", "items", "minimum", "maximum", "format")
        }

    def body(self, op: Mapping[str, Any]) -> tuple[dict[str, Any] | None, bool]:
        param = next((p for p in op.get("parameters", []) if p["in"] == "body"), None)
        return (None, False) if param is None else (param["schema"], bool(param.get("required")))

    def response(self, op: Mapping[str, Any], status: int) -> tuple[bool, dict[str, Any] | None]:
        entry = op.get("responses", {}).get(str(status))
        if entry is None:
            return False, None
        if "$ref" in entry:
            entry = self.document["responses"][entry["$ref"].split("/")[-1]]
        return True, entry.get("schema")

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            schema = self.document["definitions"][schema["$ref"].split("/")[-1]]
        return schema

    def errors(self, schema: dict[str, Any], value: JSON) -> list[str]:
        full = {**_strict(schema), "definitions": self.definitions}
        return _messages(jsonschema.Draft4Validator(full), value)


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


class OpenAPI3(Dialect):
    """OpenAPI 3.0 (dereferenced): bodies and answers as the document states them."""

    def param_schema(self, param: Mapping[str, Any]) -> dict[str, Any]:
        return dict(param.get("schema", {}))

    def body(self, op: Mapping[str, Any]) -> tuple[dict[str, Any] | None, bool]:
        request_body = op.get("requestBody")
        if request_body is None:
            return None, False
        return request_body["content"]["application/json"]["schema"], bool(request_body.get("required"))

    def response(self, op: Mapping[str, Any], status: int) -> tuple[bool, dict[str, Any] | None]:
        entry = op.get("responses", {}).get(str(status))
        if entry is None:
            return False, None
        return True, entry.get("content", {}).get("application/json", {}).get("schema")

    def errors(self, schema: dict[str, Any], value: JSON) -> list[str]:
        return _messages(jsonschema.Draft7Validator(to_json_schema(schema)), value)


# -- the checker -------------------------------------------------------------------------------------


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

    @property
    def handler(self) -> str:
        """The fake's method for this operation: `op_<operationId>` (ids that are titles → `_`)."""
        return "op_" + re.sub(r"\W+", "_", self.operation_id)


@dataclass
class Match:
    operation: Operation
    path_params: dict[str, str] = field(default_factory=dict)


def _scalar_ok(schema: Mapping[str, Any], value: str) -> bool:
    """A query or path string against a parameter schema (types, enum, bounds; anyOf alternatives)."""
    if "anyOf" in schema:
        return any(_scalar_ok(s, value) for s in schema["anyOf"])
    if "enum" in schema and value not in schema["enum"]:
        return False
    kind = schema.get("type")
    if kind == "integer":
        if re.fullmatch(r"-?\d+", value) is None:
            return False
        number = int(value)
        return bool(schema.get("minimum", number) <= number <= schema.get("maximum", number))
    if kind == "boolean":
        return value in ("true", "false")
    if kind == "string" and "minLength" in schema:
        return len(value) >= int(schema["minLength"])
    return True


class SpecChecker:
    """Every request matched to one documented operation and checked; every answer checked."""

    def __init__(
        self, document: Mapping[str, Any], dialect: Dialect, *, wildcards: tuple[str, ...] = ()
    ) -> None:
        self.document = document
        self.dialect = dialect
        self.base = str(document.get("basePath", "")).rstrip("/")
        self.operations: list[Operation] = []
        for template, methods in document["paths"].items():
            for method, spec in methods.items():
                literal = len(re.sub(r"\{[^}]+\}", "", template))
                regex = self._compile(template, wildcards)
                self.operations.append(Operation(method.upper(), template, spec, regex, literal))
        # Literal segments win over parameters, as in the backends' routers (/repos/issues/search).
        self.operations.sort(key=lambda op: -op.literal_chars)

    @staticmethod
    def _compile(template: str, wildcards: tuple[str, ...]) -> re.Pattern[str]:
        out, pos = "", 0
        for m in re.finditer(r"\{([^}]+)\}", template):
            name = m.group(1)
            out += re.escape(template[pos : m.start()])
            # Some routes take a parameter that may span slashes (Gitea's {filepath}).
            out += f"(?P<{name}>.+)" if name in wildcards else f"(?P<{name}>[^/]+)"
            pos = m.end()
        return re.compile(f"^{out}{re.escape(template[pos:])}$")

    def by_id(self, operation_id: str) -> Operation:
        return next(op for op in self.operations if op.operation_id == operation_id)

    def match(self, method: str, raw_path: str) -> tuple[Match | None, list[str]]:
        """The operation for a request path as sent (still escaped: `%2F` must not split a segment)."""
        if not raw_path.startswith(self.base + "/"):
            return None, [f"{method} {raw_path}: outside basePath {self.base}"]
        rel = raw_path[len(self.base) :]
        methods_seen = []
        for op in self.operations:
            found = op.regex.match(rel)
            if not found:
                continue
            declared = {p["name"]: p for p in op.spec.get("parameters", []) if p["in"] == "path"}
            values = {k: unquote(v) for k, v in found.groupdict().items()}
            if not all(
                _scalar_ok(self.dialect.param_schema(declared[k]), v)
                for k, v in values.items()
                if k in declared
            ):
                continue
            if op.method != method:
                methods_seen.append(op.method)
                continue
            return Match(op, values), []
        if methods_seen:
            return None, [f"{method} {rel}: method not in the spec (it has {sorted(set(methods_seen))})"]
        return None, [f"{method} {rel}: no such path in the spec"]

    def check_request(
        self, match: Match, query: list[tuple[str, str]], body: bytes, content_type: str = "application/json"
    ) -> list[str]:
        op = match.operation
        where = f"{op.method} {op.template} ({op.operation_id})"
        params = op.spec.get("parameters", [])
        declared = {p["name"]: p for p in params if p["in"] == "query"}
        seen: dict[str, list[str]] = {}
        for name, value in query:
            seen.setdefault(name, []).append(value)
        errors: list[str] = []
        for name, values in seen.items():
            param = declared.get(name)
            if param is None:
                errors.append(f"{where}: query parameter {name!r} is not in the spec")
                continue
            param_schema = self.dialect.param_schema(param)
            if param_schema.get("type") == "array":
                param_schema = param_schema.get("items", {})
            elif len(values) > 1:
                errors.append(f"{where}: query parameter {name!r} repeated but not an array")
            kind = param_schema.get("enum") or param_schema.get("type")
            errors += [
                f"{where}: query parameter {name!r}={v!r} is not a valid {kind}"
                for v in values
                if not _scalar_ok(param_schema, v)
            ]
        errors += [
            f"{where}: required query parameter {name!r} missing"
            for name, p in declared.items()
            if p.get("required") and name not in seen
        ]
        schema, required = self.dialect.body(op.spec)
        if schema is None:
            return errors + ([f"{where}: request has a body but the operation takes none"] if body else [])
        if not body:
            return errors + ([f"{where}: required JSON body missing"] if required else [])
        if "application/json" not in content_type:
            errors.append(f"{where}: body content-type {content_type!r}, the spec takes application/json")
        try:
            document = json.loads(body)
        except ValueError:
            return [*errors, f"{where}: body is not JSON"]
        return errors + [f"{where}: body {e}" for e in self.dialect.errors(schema, document)]

    def check_response(self, match: Match, status: int, payload: JSON) -> list[str]:
        op = match.operation
        where = f"{op.method} {op.template} -> {status}"
        documented, schema = self.dialect.response(op.spec, status)
        if not documented:
            return [f"{where}: status {status} is not documented for {op.operation_id}"]
        if schema is None or payload is None:
            return []
        return [f"{where}: response {e}" for e in self.dialect.errors(schema, payload)]


# -- the ASGI front ----------------------------------------------------------------------------------


@dataclass
class FakeRequest:
    method: str
    raw_path: str  # as sent, still escaped
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: JSON  # the parsed body (or its text, or None)


@dataclass
class FakeResponse:
    status: int
    payload: JSON = None  # dict/list → JSON, str → text, None → empty
    headers: dict[str, str] = field(default_factory=dict)


Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class SpecFake(ABC):
    """ASGI front of a spec-checked fake. Subclasses set `checker` and implement the hooks below;
    handlers are `op_<operationId>` methods that `dispatch` calls with what the fake needs."""

    checker: SpecChecker
    violations: list[str]
    minimal_answers = False  # True: every answer stripped to what the spec requires (see Dialect.minimal)

    @abstractmethod
    def record(self, request: FakeRequest, match: Match | None) -> None:
        """Keep the request for the tests (who it acted as, what it sent)."""

    async def intercept(self, request: FakeRequest, match: Match | None) -> FakeResponse | None:
        """Answer before any check (auth, injected faults, stalls); None to go on."""
        return None

    @abstractmethod
    def error(self, status: int, message: str) -> FakeResponse:
        """The backend's own error shape."""

    def refuse(self, errors: list[str], *, unmatched: bool) -> FakeResponse:
        """A request the spec does not allow: recorded as violations, answered 400."""
        self.violations.extend(errors)
        return self.error(400, "request does not match the API spec: " + "; ".join(errors))

    @abstractmethod
    async def dispatch(self, match: Match, request: FakeRequest) -> FakeResponse: ...

    def bad_answer(self, match: Match, response: FakeResponse, errors: list[str]) -> FakeResponse:
        """An answer the spec does not allow: recorded, and answered 400 (a fake must never lie)."""
        return self.refuse(errors, unmatched=False)

    def checked_payload(self, match: Match, response: FakeResponse) -> JSON:
        """What of the answer is checked against the response schema (a hook for list-or-object answers)."""
        return response.payload

    async def handle(self, request: FakeRequest) -> FakeResponse:
        match, errors = self.checker.match(request.method, request.raw_path)
        self.record(request, match)
        early = await self.intercept(request, match)
        if early is not None:
            return early
        if match is None:
            return self.refuse(errors, unmatched=True)
        content_type = request.headers.get("content-type", "")
        errors = self.checker.check_request(match, request.query, request.body, content_type)
        if errors:
            return self.refuse(errors, unmatched=False)
        response = await self.dispatch(match, request)
        if self.minimal_answers and response.status < 300 and not isinstance(response.payload, str):
            _, schema = self.checker.dialect.response(match.operation.spec, response.status)
            response.payload = self.checker.dialect.minimal(schema, response.payload)
        if response.status < 300:  # error answers are the fake's own words, not checked
            errors = self.checker.check_response(
                match, response.status, self.checked_payload(match, response)
            )
            if errors:
                return self.bad_answer(match, response, errors)
        return response

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            parsed: JSON = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode(errors="replace")
        request = FakeRequest(
            method=scope["method"],
            raw_path=(scope.get("raw_path") or scope["path"].encode()).decode().split("?", 1)[0],
            query=parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True),
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body=body,
            json=parsed,
        )
        response = await self.handle(request)
        if isinstance(response.payload, str):
            data, kind = response.payload.encode(), b"text/plain; charset=utf-8"
        elif response.payload is None:
            data, kind = b"", b"application/json"
        else:
            data, kind = json.dumps(response.payload).encode(), b"application/json"
        headers = [(b"content-type", kind), (b"content-length", str(len(data)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in response.headers.items()]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": data})
