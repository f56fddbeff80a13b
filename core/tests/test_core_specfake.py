"""The shared spec checker: one matching and checking logic for Swagger 2 and OpenAPI 3 documents."""

from __future__ import annotations

from typing import Any

from fleet_core.specfake import OpenAPI3, SpecChecker, Swagger2

S = {"type": "string"}
SWAGGER: dict[str, Any] = {
    "swagger": "2.0",
    "basePath": "/api/v1",
    "paths": {
        "/repos/{owner}/{repo}": {"get": {"operationId": "repoGet", "parameters": [
            {"name": "owner", "in": "path", **S}, {"name": "repo", "in": "path", **S}]}},
        "/repos/search": {"get": {"operationId": "repoSearch", "parameters": [
            {"name": "limit", "in": "query", "type": "integer", "minimum": 1},
            {"name": "q", "in": "query", "type": "string", "required": True}],
            "responses": {"200": {"schema": {"$ref": "#/definitions/Hit"}}}}},
        "/repos/{owner}/{repo}/issues": {"post": {"operationId": "issueCreate", "parameters": [
            {"name": "owner", "in": "path", **S}, {"name": "repo", "in": "path", **S},
            {"name": "body", "in": "body", "required": True, "schema": {"$ref": "#/definitions/NewIssue"}}],
            "responses": {"201": {"schema": {"$ref": "#/definitions/Hit"}}}}},
    },
    "definitions": {
        "NewIssue": {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}},
        "Hit": {"type": "object", "properties": {"id": {"type": "integer"}}},
    },
}  # fmt: skip

ISSUE = {
    "type": "object",
    "properties": {"count": S, "priority": {"type": "string", "nullable": True, "enum": ["high", "low"]}},
}
OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "paths": {
        "/api/0/issues/{issue_id}/": {"get": {"operationId": "getIssue", "parameters": [
            {"name": "issue_id", "in": "path", "schema": {"type": "string"}},
            {"name": "project", "in": "query",
             "schema": {"type": "array", "items": {"anyOf": [{"type": "integer"}, S]}}}],
            "responses": {"200": {"content": {"application/json": {"schema": ISSUE}}}}}},
    },
}  # fmt: skip


def test_swagger2_literal_paths_win_and_parameters_are_checked() -> None:
    checker = SpecChecker(SWAGGER, Swagger2(SWAGGER))
    match, errors = checker.match("GET", "/api/v1/repos/search")
    assert match is not None
    assert errors == []
    assert match.operation.operation_id == "repoSearch"
    problems = checker.check_request(match, [("limit", "0"), ("bogus", "1"), ("limit", "2")], b"")
    assert any("'bogus' is not in the spec" in p for p in problems)
    assert any("'limit' repeated" in p for p in problems)
    assert any("'limit'='0' is not a valid integer" in p for p in problems)
    assert any("required query parameter 'q' missing" in p for p in problems)
    assert checker.check_response(match, 200, {"id": 1, "extra": True})  # strict: unknown field
    assert checker.check_response(match, 204, None)  # an undocumented success


def test_swagger2_bodies_are_strict() -> None:
    checker = SpecChecker(SWAGGER, Swagger2(SWAGGER))
    match, _ = checker.match("POST", "/api/v1/repos/a/b/issues")
    assert match is not None
    assert checker.check_request(match, [], b'{"title": "t"}') == []
    assert any(
        "'label' was unexpected" in p for p in checker.check_request(match, [], b'{"title": "t", "label": 1}')
    )
    assert any("required JSON body missing" in p for p in checker.check_request(match, [], b""))
    _, errors = checker.match("DELETE", "/api/v1/repos/a/b")
    assert "method not in the spec" in errors[0]


def test_openapi3_nullable_any_of_and_escaped_segments() -> None:
    checker = SpecChecker(OPENAPI, OpenAPI3(OPENAPI))
    match, _ = checker.match("GET", "/api/0/issues/a%2Fb/")
    assert match is not None
    assert match.path_params == {"issue_id": "a/b"}  # an escaped slash stays in its segment
    assert checker.check_request(match, [("project", "12"), ("project", "web")], b"") == []
    assert checker.check_response(match, 200, {"count": "5.0", "priority": None}) == []
    assert checker.check_response(match, 200, {"count": 5})
    assert match.operation.handler == "op_getIssue"
