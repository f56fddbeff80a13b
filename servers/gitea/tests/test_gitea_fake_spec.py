"""The fake Gitea itself: it must catch requests the official spec would not accept, and say so."""

from __future__ import annotations

import httpx2
import pytest

from fleet_gitea.fake_spec import SpecChecker, load_subset
from fleet_gitea.testing import TOKEN, Harness

pytestmark = pytest.mark.anyio


async def raw(h: Harness, method: str, path: str, **kw: object) -> httpx2.Response:
    headers = {"Authorization": f"token {TOKEN}", "Sudo": "alice"}
    async with httpx2.AsyncClient(base_url=h.gitea_url + "/api/v1", headers=headers) as http:
        return await http.request(method, path, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "path", "kw", "expected"),
    [
        ("GET", "/repos/alice/demo/issues?bogus=1", {}, "unknown query parameter 'bogus'"),
        ("GET", "/repos/alice/demo/issues?state=maybe", {}, "'state'='maybe' is not a valid"),
        ("GET", "/repos/alice/demo/pulls?page=0", {}, "'page'='0' is not a valid"),
        ("GET", "/repos/alice/demo/issues/abc", {}, "no such path"),
        ("DELETE", "/repos/alice/demo", {}, "method not in spec"),
        ("GET", "/repos/alice/demo/topics", {}, "no such path"),
        (
            "POST",
            "/repos/alice/demo/issues",
            {"json": {"body": "no title"}},
            "'title' is a required property",
        ),
        (
            "POST",
            "/repos/alice/demo/issues",
            {"json": {"title": "t", "label": [1]}},
            "'label' was unexpected",
        ),
        ("POST", "/repos/alice/demo/issues", {"json": {"title": 5}}, "5 is not of type 'string'"),
        ("POST", "/repos/alice/demo/pulls/3/merge", {"json": {"do": "yolo"}}, "'yolo' is not one of"),
        ("PUT", "/repos/alice/demo/contents/a.txt", {}, "required JSON body missing"),
        ("GET", "/repos/alice/demo", {"content": b"{}"}, "operation takes none"),
    ],
)
async def test_fake_records_spec_violations(
    h: Harness, method: str, path: str, kw: dict[str, object], expected: str
) -> None:
    response = await raw(h, method, path, **kw)
    assert response.status_code == 400
    assert expected in response.json()["message"]
    assert any(expected in v for v in h.fake.violations)
    h.fake.violations.clear()


async def test_fake_requires_the_service_token_and_an_existing_sudo_user(h: Harness) -> None:
    async with httpx2.AsyncClient(base_url=h.gitea_url + "/api/v1") as http:
        assert (await http.get("/user", headers={"Sudo": "alice"})).status_code == 401
        no_user = await http.get("/user", headers={"Authorization": f"token {TOKEN}", "Sudo": "zed"})
    assert no_user.status_code == 404


def test_spec_subset_is_the_official_swagger_shape() -> None:
    subset = load_subset()
    assert subset["swagger"] == "2.0"
    assert subset["basePath"] == "/api/v1"
    ops = {op["operationId"] for methods in subset["paths"].values() for op in methods.values()}
    assert {"repoMergePullRequest", "repoUpdateFile", "issueSearchIssues", "downloadActionsRunJobLogs"} <= ops
    assert "UpdateFileOptions" in subset["definitions"]


def test_literal_paths_win_over_parameters() -> None:
    match, errors = SpecChecker().match("GET", "/api/v1/repos/issues/search")
    assert errors == []
    assert match is not None
    assert match.operation.operation_id == "issueSearchIssues"
    match, _ = SpecChecker().match("GET", "/api/v1/repos/a/b/pulls/3.diff")
    assert match is not None
    assert match.path_params == {
        "owner": "a",
        "repo": "b",
        "index": "3",
        "diffType": "diff",
    }
