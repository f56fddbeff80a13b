"""Extract the subset of the official Gitea swagger (API v1) that fleet-gitea calls.

Dev tooling, not run by tests:

    uv run python servers/gitea/scripts/extract_spec.py path/to/gitea-swagger-v1.json

writes ``src/fleet_gitea/_spec/gitea-subset.json``: the operations below with their parameters,
plus every definition and shared response they reference (transitively). The fake Gitea validates
each request the server makes against this file, so a call outside it fails the tests.
"""

from __future__ import annotations

import json
import pathlib
import sys
from typing import Any

OPERATIONS: list[tuple[str, str]] = [
    ("get", "/version"),
    ("get", "/user"),
    ("get", "/user/repos"),
    ("get", "/repos/search"),
    ("get", "/repos/issues/search"),
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/branches"),
    ("post", "/repos/{owner}/{repo}/branches"),
    ("get", "/repos/{owner}/{repo}/tags"),
    ("get", "/repos/{owner}/{repo}/commits"),
    ("get", "/repos/{owner}/{repo}/git/commits/{sha}"),
    ("get", "/repos/{owner}/{repo}/git/trees/{sha}"),
    ("get", "/repos/{owner}/{repo}/contents/{filepath}"),
    ("post", "/repos/{owner}/{repo}/contents/{filepath}"),
    ("put", "/repos/{owner}/{repo}/contents/{filepath}"),
    ("get", "/repos/{owner}/{repo}/issues"),
    ("post", "/repos/{owner}/{repo}/issues"),
    ("get", "/repos/{owner}/{repo}/issues/{index}"),
    ("patch", "/repos/{owner}/{repo}/issues/{index}"),
    ("get", "/repos/{owner}/{repo}/issues/{index}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{index}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{index}/labels"),
    ("delete", "/repos/{owner}/{repo}/issues/{index}/labels/{id}"),
    ("get", "/repos/{owner}/{repo}/pulls"),
    ("post", "/repos/{owner}/{repo}/pulls"),
    ("get", "/repos/{owner}/{repo}/pulls/{index}"),
    ("get", "/repos/{owner}/{repo}/pulls/{index}.{diffType}"),
    ("get", "/repos/{owner}/{repo}/pulls/{index}/files"),
    ("get", "/repos/{owner}/{repo}/pulls/{index}/reviews"),
    ("post", "/repos/{owner}/{repo}/pulls/{index}/reviews"),
    ("post", "/repos/{owner}/{repo}/pulls/{index}/merge"),
    ("get", "/repos/{owner}/{repo}/releases"),
    ("post", "/repos/{owner}/{repo}/releases"),
    ("get", "/repos/{owner}/{repo}/labels"),
    ("get", "/repos/{owner}/{repo}/milestones"),
    ("get", "/repos/{owner}/{repo}/actions/runs"),
    ("get", "/repos/{owner}/{repo}/actions/runs/{run}/jobs"),
    ("get", "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs"),
    ("get", "/repos/{owner}/{repo}/wiki/pages"),
    ("get", "/repos/{owner}/{repo}/wiki/page/{pageName}"),
    # review comments, CI status, compare, patches, notifications (issue 17)
    ("get", "/repos/{owner}/{repo}/pulls/{index}/reviews/{id}/comments"),
    ("post", "/repos/{owner}/{repo}/pulls/{index}/requested_reviewers"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/status"),
    ("get", "/repos/{owner}/{repo}/compare/{basehead}"),
    ("get", "/repos/{owner}/{repo}/git/commits/{sha}.{diffType}"),
    ("get", "/notifications"),
    # project tracking: labels, milestones (issue milestone/due date go through PATCH issues/{index})
    ("post", "/repos/{owner}/{repo}/labels"),
    ("patch", "/repos/{owner}/{repo}/labels/{id}"),
    ("delete", "/repos/{owner}/{repo}/labels/{id}"),
    ("post", "/repos/{owner}/{repo}/milestones"),
    ("patch", "/repos/{owner}/{repo}/milestones/{id}"),
    ("delete", "/repos/{owner}/{repo}/milestones/{id}"),
    # Actions: one job (for its steps), dispatch, re-run, cancel
    ("get", "/repos/{owner}/{repo}/actions/jobs/{job_id}"),
    ("post", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"),
    ("get", "/repos/{owner}/{repo}/actions/runs/{run}"),
    ("post", "/repos/{owner}/{repo}/actions/runs/{run}/rerun"),
    ("post", "/repos/{owner}/{repo}/actions/runs/{run}/rerun-failed-jobs"),
    ("post", "/repos/{owner}/{repo}/actions/runs/{run}/cancel"),
    # wiki edits
    ("post", "/repos/{owner}/{repo}/wiki/new"),
    ("patch", "/repos/{owner}/{repo}/wiki/page/{pageName}"),
    ("delete", "/repos/{owner}/{repo}/wiki/page/{pageName}"),
    # deletes (destructive tools, each needs confirm=true)
    ("delete", "/repos/{owner}/{repo}/branches/{branch}"),
    ("delete", "/repos/{owner}/{repo}/tags/{tag}"),
    ("delete", "/repos/{owner}/{repo}/releases/tags/{tag}"),
    ("delete", "/repos/{owner}/{repo}/contents/{filepath}"),
]

OUT = pathlib.Path(__file__).resolve().parents[1] / "src" / "fleet_gitea" / "_spec" / "gitea-subset.json"


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def extract(spec: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path in OPERATIONS:
        paths.setdefault(path, {})[method] = spec["paths"][path][method]
    subset: dict[str, Any] = {
        "x-source": "gitea-swagger-v1.json (official Gitea API v1), subset used by fleet-gitea",
        "swagger": spec["swagger"],
        "info": spec["info"],
        "basePath": spec["basePath"],
        "paths": paths,
        "definitions": {},
        "responses": {},
    }
    todo = _refs(paths)
    seen: set[str] = set()
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, section, name = ref.split("/", 2)
        node = spec[section][name]
        subset[section][name] = node
        todo |= _refs(node)
    subset["definitions"] = dict(sorted(subset["definitions"].items()))
    subset["responses"] = dict(sorted(subset["responses"].items()))
    return subset


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: extract_spec.py path/to/gitea-swagger-v1.json")
    spec = json.loads(pathlib.Path(sys.argv[1]).read_text())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(extract(spec), indent=1, sort_keys=False) + "\n")
    print(f"wrote {OUT} ({len(OPERATIONS)} operations)")


if __name__ == "__main__":
    main()
