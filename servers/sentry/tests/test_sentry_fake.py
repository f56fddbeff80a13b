"""The fake itself is held to the spec: it refuses undocumented requests and only answers spec-shaped data."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import anyio
import httpx2
import pytest

from fleet_sentry import dev
from fleet_sentry.fake import FAKE_TOKEN, FakeSentry, parse_search

AUTH = {"Authorization": f"Bearer {FAKE_TOKEN}"}


def http(fake: FakeSentry) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=fake), base_url="http://fake", headers=AUTH)


async def test_an_undocumented_query_parameter_is_a_violation() -> None:
    fake = FakeSentry()
    async with http(fake) as client:
        response = await client.get("/api/0/organizations/acme/issues/", params={"per_page": "5"})
    assert response.status_code == 400
    assert fake.violations == [
        "GET /api/0/organizations/{organization_id_or_slug}/issues/ (listOrganizationIssues): "
        "query parameter 'per_page' is not in the spec"
    ]


async def test_a_body_outside_the_schema_is_a_violation() -> None:
    fake = FakeSentry()
    async with http(fake) as client:
        response = await client.put("/api/0/organizations/acme/issues/1001/", json={"status": "fixed"})
    assert response.status_code == 400
    assert "(updateOrganizationIssue): body status: 'fixed' is not one of" in fake.violations[0]
    assert fake.issues["1001"]["status"] == "unresolved"


async def test_an_unknown_operation_and_a_missing_required_parameter_are_violations() -> None:
    fake = FakeSentry()
    async with http(fake) as client:
        assert (await client.get("/api/0/organizations/acme/secrets/")).status_code == 404
        assert (
            await client.get("/api/0/organizations/acme/events/", params={"field": "title"})
        ).status_code == 400
    assert fake.violations == [
        "GET /api/0/organizations/acme/secrets/: no such path in the spec",
        "GET /api/0/organizations/{organization_id_or_slug}/events/ (listOrganizationEvents): "
        "required query parameter 'dataset' missing",
    ]


async def test_a_missing_token_is_401_like_sentry() -> None:
    fake = FakeSentry()
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=fake), base_url="http://fake") as client:
        response = await client.get("/api/0/organizations/acme/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token"}


def test_search_parser_reports_like_sentry() -> None:
    assert parse_search('is:unresolved !level:info "quoted text" assigned:[me, none]') == [
        (False, "is", "unresolved"),
        (True, "level", "info"),
        (False, None, "quoted text"),
        (False, "assigned", "[me, none]"),
    ]
    with pytest.raises(Exception, match="unmatched parentheses"):
        parse_search("(level:error")
    with pytest.raises(Exception, match="Empty string after 'level:'"):
        parse_search("level:")


def test_the_carried_spec_subset_records_its_source_and_corrections() -> None:
    text = resources.files("fleet_sentry").joinpath("_spec/sentry-subset.json").read_text()
    spec = json.loads(text)
    assert "sentry-api-schema" in spec["info"]["x-source"]
    notes = spec["paths"]["/api/0/organizations/{organization_id_or_slug}/issues/{issue_id}/comments/"][
        "post"
    ]
    assert "not in the published spec" in notes["x-fleet-source"]
    put = spec["paths"]["/api/0/organizations/{organization_id_or_slug}/issues/{issue_id}/"]["put"]
    assert "required" not in put["requestBody"]["content"]["application/json"]["schema"]
    script = Path(__file__).parents[1] / "scripts" / "extract_spec.py"
    assert "def _fix_errata" in script.read_text()


async def test_dev_hook_serves_the_labelled_fake_when_no_sentry_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("FLEET_SENTRY_AUTH_TOKEN", raising=False)
    with anyio.fail_after(15):
        async with (
            dev.backend(tmp_path) as env,
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {env['FLEET_SENTRY_AUTH_TOKEN']}"}) as c,
        ):
            org = (await c.get(f"{env['FLEET_SENTRY_BASE_URL']}/api/0/organizations/acme/")).json()
    assert org["slug"] == env["FLEET_SENTRY_ORG"] == "acme"
    assert "FAKE Sentry" in caplog.text


async def test_dev_hook_uses_a_configured_sentry_as_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEET_SENTRY_AUTH_TOKEN", "real-token")
    async with dev.backend(tmp_path) as env:
        assert env == {}
