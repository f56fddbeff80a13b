"""Extract the part of Sentry's official OpenAPI spec this server uses into the project.

Run by hand when the spec changes (tests only read the extracted subset), with Sentry's
published spec (getsentry/sentry-api-schema, openapi-derefed.json):

    uv run python servers/sentry/scripts/extract_spec.py path/to/sentry-openapi-derefed.json

Writes src/fleet_sentry/_spec/sentry-subset.json: for each operation the server calls, its
parameters, request body schema and success response (schema + example), plus two documented
corrections and one documented supplement (see ERRATA and SUPPLEMENT below).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "src" / "fleet_sentry" / "_spec" / "sentry-subset.json"

ORG = "/api/0/organizations/{organization_id_or_slug}"
OPERATIONS: list[tuple[str, str]] = [
    ("/api/0/organizations/", "get"),
    (f"{ORG}/", "get"),
    (f"{ORG}/projects/", "get"),
    (f"{ORG}/teams/", "get"),
    (f"{ORG}/issues/", "get"),
    (f"{ORG}/issues/{{issue_id}}/", "get"),
    (f"{ORG}/issues/{{issue_id}}/", "put"),
    (f"{ORG}/issues/{{issue_id}}/events/", "get"),
    (f"{ORG}/issues/{{issue_id}}/events/{{event_id}}/", "get"),
    (f"{ORG}/shortids/{{issue_id}}/", "get"),
    (f"{ORG}/eventids/{{event_id}}/", "get"),
    ("/api/0/projects/{organization_id_or_slug}/{project_id_or_slug}/events/{event_id}/", "get"),
    (f"{ORG}/events/", "get"),
    (f"{ORG}/trace/{{trace_id}}/", "get"),
    (f"{ORG}/releases/", "get"),
    (f"{ORG}/releases/{{version}}/", "get"),
    # triage: tag breakdown, counts over time, releases, feedback, bulk changes, Seer
    (f"{ORG}/issues/", "put"),
    (f"{ORG}/issues/{{issue_id}}/tags/{{key}}/", "get"),
    (f"{ORG}/issues/{{issue_id}}/tags/{{key}}/values/", "get"),
    (f"{ORG}/issues/{{issue_id}}/autofix/", "get"),
    (f"{ORG}/issues/{{issue_id}}/autofix/", "post"),
    (f"{ORG}/events-timeseries/", "get"),
    (f"{ORG}/releases/{{version}}/commits/", "get"),
    (f"{ORG}/releases/{{version}}/deploys/", "get"),
    ("/api/0/projects/{organization_id_or_slug}/{project_id_or_slug}/user-feedback/", "get"),
]

# Notes ("comments") are part of Sentry's API but not of the published OpenAPI document.
# Shape from Sentry's source: GroupNotesEndpoint (src/sentry/issues/endpoints/group_notes.py,
# NoteSerializer: text required, mentions optional) answering 201 with the new activity
# (ActivitySerializer: id, user, type="note", data={"text": ...}, dateCreated).
SUPPLEMENT: dict[str, dict[str, Any]] = {
    f"{ORG}/issues/{{issue_id}}/comments/": {
        "post": {
            "operationId": "createOrganizationIssueNote",
            "x-fleet-source": "not in the published spec; Sentry GroupNotesEndpoint (group_notes.py)",
            "parameters": [
                {
                    "in": "path",
                    "name": "organization_id_or_slug",
                    "required": True,
                    "schema": {"type": "string"},
                },
                {"in": "path", "name": "issue_id", "required": True, "schema": {"type": "string"}},
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "text": {"type": "string", "minLength": 1},
                                "mentions": {"type": "array", "items": {"type": "string"}},
                            },
                            "required": ["text"],
                            "additionalProperties": False,
                        }
                    }
                },
            },
            "responses": {
                "201": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "string"},
                                    "user": {"type": "object", "nullable": True},
                                    "type": {"type": "string", "enum": ["note"]},
                                    "data": {
                                        "type": "object",
                                        "properties": {"text": {"type": "string"}},
                                        "required": ["text"],
                                    },
                                    "dateCreated": {"type": "string", "format": "date-time"},
                                },
                                "required": ["id", "type", "data", "dateCreated"],
                            }
                        }
                    }
                }
            },
        }
    }
}


def _fix_errata(path: str, method: str, op: dict[str, Any]) -> None:
    """Corrections to the published document, each with its reason."""
    if path in (f"{ORG}/issues/{{issue_id}}/", f"{ORG}/issues/") and method == "put":
        # drf-spectacular marks every field of the (partial=True) update serializer as required;
        # Sentry accepts any subset (GroupValidator is used with partial=True). Keep the field
        # schemas, drop the bogus `required` lists, and refuse unknown fields.
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        schema.pop("required", None)
        schema["additionalProperties"] = False
        for part in schema["properties"]["statusDetails"].get("allOf", []):
            part.pop("required", None)
            part["additionalProperties"] = False


def extract(spec: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, method in OPERATIONS:
        source = spec["paths"][path][method]
        op: dict[str, Any] = {
            "operationId": source["operationId"],
            "parameters": copy.deepcopy(source.get("parameters", [])),
        }
        if "requestBody" in source:
            op["requestBody"] = copy.deepcopy(source["requestBody"])
        responses = {}
        for code, response in source.get("responses", {}).items():
            content = response.get("content", {}).get("application/json")
            if code.startswith("2") and content:
                responses[code] = {"content": {"application/json": copy.deepcopy(content)}}
        op["responses"] = responses
        _fix_errata(path, method, op)
        paths.setdefault(path, {})[method] = op
    for path, ops in SUPPLEMENT.items():
        paths.setdefault(path, {}).update(copy.deepcopy(ops))
    return {
        "openapi": spec["openapi"],
        "info": {
            "title": "Sentry API — subset used by fleet-sentry",
            "x-source": "getsentry/sentry-api-schema openapi-derefed.json, via scripts/extract_spec.py",
        },
        "servers": spec.get("servers", []),
        "paths": paths,
    }


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: extract_spec.py <path to sentry-openapi-derefed.json>")
    spec = json.loads(Path(sys.argv[1]).read_text())
    OUT.write_text(json.dumps(extract(spec), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
