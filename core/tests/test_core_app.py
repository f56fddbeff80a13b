"""The app factory: settings, Host/Origin behind a gateway, health, readiness, in-memory identity."""

from __future__ import annotations

import logging
import pathlib
import subprocess
import sys
import time
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.server.mcpserver import MCPServer
from pydantic import TypeAdapter, ValidationError

from fleet_core import (
    READ_ONLY,
    BackendError,
    BackendUrl,
    ServerSettings,
    ToolError,
    TrustMode,
    build_app,
    create_server,
    pid_alive,
    requires,
    settings_or_exit,
    stdio_caller,
)
from fleet_core.testing import (
    MCP_HEADERS,
    TEST_SECRET,
    acting_as,
    call_body,
    connect,
    identity,
    identity_headers,
    running_app,
    serve_server,
    settings_for,
    text_of,
)


def test_insecure_dev_refuses_a_non_loopback_bind() -> None:
    with pytest.raises(ValidationError, match="only binds to loopback"):
        ServerSettings(trust_mode=TrustMode.INSECURE_DEV, host="0.0.0.0")  # noqa: S104 - the attack under test


def test_gateway_secret_mode_needs_a_long_enough_secret() -> None:
    with pytest.raises(ValidationError, match="at least one gateway secret"):
        ServerSettings(public_url="http://127.0.0.1:8700/mcp/x")
    with pytest.raises(ValidationError, match="at least 16 characters"):
        ServerSettings(public_url="http://127.0.0.1:8700/mcp/x", gateway_secrets="short")


def test_jwt_mode_needs_an_issuer() -> None:
    with pytest.raises(ValidationError, match="needs issuer"):
        ServerSettings(public_url="http://127.0.0.1:8700/mcp/x", trust_mode="jwt")


@pytest.mark.parametrize("url", ["ftp://x/mcp", "http://x/mcp/", "http://x/mcp?a=1", "/mcp/x"])
def test_public_url_must_be_an_exact_absolute_url(url: str) -> None:
    with pytest.raises(ValidationError, match="must"):
        ServerSettings(public_url=url, gateway_secrets=TEST_SECRET)


def test_settings_come_from_the_environment_with_comma_separated_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLEET_PUBLIC_URL", "https://mcp.example.com/mcp/db")
    monkeypatch.setenv("FLEET_GATEWAY_SECRETS", "first-secret-0123456789, second-secret-0123456789")
    settings = ServerSettings()
    assert [s.get_secret_value() for s in settings.gateway_secrets] == [
        "first-secret-0123456789",
        "second-secret-0123456789",
    ]
    assert (
        settings.resource_metadata_url
        == "https://mcp.example.com/.well-known/oauth-protected-resource/mcp/db"
    )
    assert "first-secret" not in repr(settings)


async def test_insecure_dev_trusts_headers_on_loopback_and_says_so(
    server: MCPServer, ran: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    settings = ServerSettings(trust_mode=TrustMode.INSECURE_DEV, port=8123)
    assert settings.public_url == "http://127.0.0.1:8123/mcp"
    with caplog.at_level(logging.WARNING, logger="fleet.core"):
        app = build_app(server, settings)
    assert "INSECURE-DEV TRUST MODE" in caplog.text
    who = identity("alice", "test:read", audience=settings.public_url)
    with anyio.fail_after(15):
        async with running_app(app) as base, connect(base + "/mcp", identity=who, secret=None) as client:
            assert text_of(await client.call_tool("echo", {"text": "dev"})) == "dev"
    assert ran == ["echo"]


async def test_gateway_host_is_accepted_and_a_foreign_host_or_origin_is_not(
    server: MCPServer, ran: list[str]
) -> None:
    settings = settings_for(name="test", public_url="https://mcp.example.com/mcp/test")
    who = identity("alice", "test:read", audience=settings.public_url)
    headers = MCP_HEADERS | identity_headers(who) | {"X-MCP-Gateway-Secret": TEST_SECRET}
    body = call_body("echo", {"text": "x"})
    with anyio.fail_after(15):
        async with serve_server(server, settings) as url, httpx2.AsyncClient() as http:
            via_gateway = await http.post(url, json=body, headers=headers | {"Host": "mcp.example.com"})
            rebinding = await http.post(url, json=body, headers=headers | {"Host": "evil.example"})
            evil_origin = await http.post(
                url, json=body, headers=headers | {"Origin": "https://evil.example"}
            )
            good_origin = await http.post(
                url, json=body, headers=headers | {"Origin": "https://mcp.example.com"}
            )
    assert via_gateway.status_code == 200
    assert rebinding.status_code == 421
    assert evil_origin.status_code == 403
    assert good_origin.status_code == 200
    assert ran == ["echo", "echo"]


async def test_healthz_is_open_and_readyz_asks_the_backend(
    server: MCPServer, caplog: pytest.LogCaptureFixture
) -> None:
    healthy = True

    async def ready() -> None:
        if not healthy:
            raise BackendError("database unreachable")

    app = build_app(server, settings_for(name="test"), ready=ready)
    with anyio.fail_after(15):
        async with running_app(app) as base, httpx2.AsyncClient(base_url=base) as http:
            assert (await http.get("/healthz")).json() == {"ok": True}
            assert (await http.get("/readyz")).json() == {"ready": True}
            healthy = False
            with caplog.at_level(logging.WARNING, logger="fleet.core"):
                not_ready = await http.get("/readyz")
            assert (await http.get("/other")).status_code == 401  # everything else needs the front door
    assert not_ready.status_code == 503
    assert not_ready.json() == {"ready": False}  # no backend detail to an unauthenticated caller
    assert "test not ready: database unreachable" in caplog.text


async def test_tool_outcomes_are_audited(server: MCPServer, audit_lines: list[dict[str, Any]]) -> None:
    @server.tool(meta={"fleet/scope": "test:read"})
    async def broken() -> str:
        """Always fails at the backend."""
        raise BackendError("backend down")

    settings = settings_for(name="test")
    who = identity("alice", "test:read", audience=settings.public_url)
    with anyio.fail_after(15):
        async with serve_server(server, settings) as url, connect(url, identity=who) as client:
            failed = await client.call_tool("broken", {})
            unknown = await client.call_tool("echo", {"wrong": 1})
    assert failed.is_error
    assert text_of(failed).endswith("backend down")
    assert unknown.is_error
    outcomes = [(line["tool"], line["outcome"]) for line in audit_lines if line.get("tool")]
    assert ("broken", "backend_error") in outcomes
    assert ("echo", "tool_error") in outcomes


async def test_in_memory_calls_fail_closed_without_an_explicit_identity(
    server: MCPServer, ran: list[str]
) -> None:
    with anyio.fail_after(10):
        async with Client(server) as client:
            refused = await client.call_tool("whoami", {})
        with acting_as(identity("bob", "test:read", audience="stdio")):
            async with Client(server) as client:
                allowed = await client.call_tool("whoami", {})
    assert refused.is_error
    assert "no caller identity" in text_of(refused)
    assert allowed.structured_content is not None
    assert allowed.structured_content["subject"] == "bob"


async def test_in_memory_calls_still_obey_tool_scopes(server: MCPServer, ran: list[str]) -> None:
    with anyio.fail_after(10), acting_as(identity("bob", "test:read", audience="stdio")):
        async with Client(server) as client:
            refused = await client.call_tool("change", {})
            allowed = await client.call_tool("echo", {"text": "hi"})
    assert refused.is_error
    assert text_of(refused) == "insufficient scope: this call needs test:read test:write"
    assert not allowed.is_error
    assert ran == ["echo"]


async def test_stdio_serves_the_explicit_local_identity(tmp_path: pathlib.Path) -> None:
    script = tmp_path / "stdio_server.py"
    script.write_text(
        "from fleet_core import create_server, run_stdio\n"
        "from fleet_core.testing import identity\n"
        "run_stdio(create_server('test'), identity('carol', 'test:read', audience='stdio'))\n"
    )
    params = StdioServerParameters(command=sys.executable, args=[str(script)])
    with anyio.fail_after(30):
        async with Client(params) as client:
            result = await client.call_tool("whoami", {})
    assert result.structured_content is not None
    assert result.structured_content["subject"] == "carol"


def test_settings_or_exit_lists_the_problems_without_a_traceback() -> None:
    with pytest.raises(SystemExit) as exited:
        settings_or_exit(lambda: ServerSettings(public_url="ftp://x"), "fleet-test")
    message = str(exited.value.code)
    assert message.startswith("fleet-test: invalid settings:\n  public_url: ")
    assert "Traceback" not in message


def test_stdio_caller_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEET_NOTES_STDIO_USER", raising=False)
    with pytest.raises(SystemExit, match="set FLEET_NOTES_STDIO_USER"):
        stdio_caller("notes", who="the user to act as")
    monkeypatch.setenv("FLEET_NOTES_STDIO_USER", "dora")
    assert stdio_caller("notes", who="x").scopes == {"notes:read"}
    monkeypatch.setenv("FLEET_NOTES_STDIO_SCOPES", "notes:read notes:write")
    who = stdio_caller("notes", who="x")
    assert (who.subject, who.scopes) == ("dora", frozenset({"notes:read", "notes:write"}))


def test_a_fleet_dev_child_exits_when_its_parent_is_killed_outright(tmp_path: pathlib.Path) -> None:
    # parent: starts a child that calls die_with_parent(), prints its pid, then waits to be SIGKILLed
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, subprocess, sys, time\n"
            "env = dict(os.environ, FLEET_PARENT_PID=str(os.getpid()))\n"
            "code = 'import fleet_core, time; fleet_core.die_with_parent(); time.sleep(60)'\n"
            "child = subprocess.Popen([sys.executable, '-c', code], env=env)\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    time.sleep(1.0)  # let the child reach die_with_parent()
    parent.kill()
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and pid_alive(child):
        time.sleep(0.05)
    assert not pid_alive(child)


async def test_only_the_mcp_path_is_served_behind_the_gate(server: MCPServer, ran: list[str]) -> None:
    settings = settings_for(name="test")
    who = identity("alice", "test:read", audience=settings.public_url)
    headers = MCP_HEADERS | identity_headers(who) | {"X-MCP-Gateway-Secret": TEST_SECRET}
    body = call_body("echo", {"text": "x"})
    with anyio.fail_after(15):
        app = build_app(server, settings)
        async with running_app(app) as base, httpx2.AsyncClient(base_url=base) as http:
            elsewhere = await http.post("/admin", json=body, headers=headers)
            slash = await http.post("/mcp/", json=body, headers=headers)
    assert elsewhere.status_code == 404
    assert elsewhere.json() == {"error": "not_found"}
    assert slash.status_code == 200
    assert ran == ["echo"]


def test_the_sdks_opentelemetry_middleware_is_opt_in(server: MCPServer) -> None:
    def otel(mcp: MCPServer) -> bool:
        return any(type(m).__name__ == "OpenTelemetryMiddleware" for m in mcp.middleware)

    assert otel(server)
    build_app(server, settings_for(name="test", otel_spans=True))
    assert otel(server)
    build_app(server, settings_for(name="test"))
    assert not otel(server)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("", ""),
        ("https://gitea.example.com/", "https://gitea.example.com"),
        ("http://127.0.0.1:8080/w", "http://127.0.0.1:8080/w"),
    ],
)
def test_backend_urls_are_absolute_and_lose_their_trailing_slash(given: str, kept: str) -> None:
    assert TypeAdapter(BackendUrl).validate_python(given) == kept


@pytest.mark.parametrize(
    "bad", ["gitea.example.com", "ftp://x", "https://x/?a=1", "https://x/#f", "https://"]
)
def test_a_malformed_backend_url_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="absolute http"):
        TypeAdapter(BackendUrl).validate_python(bad)


async def test_a_tool_that_crashes_on_an_unexpected_shape_says_so_and_names_itself() -> None:
    mcp = create_server("shapes")

    @mcp.tool(meta=requires("shapes:read"), annotations=READ_ONLY)
    async def count_events() -> int:
        """Reads a field the backend did not send."""
        answer: dict[str, str] = {"count": "12"}
        return int(answer["total"])

    @mcp.tool(meta=requires("shapes:read"), annotations=READ_ONLY)
    def broken_sync() -> int:
        """A plain (sync) tool that hits a bug."""
        raise RuntimeError("secret internals")

    @mcp.tool(meta=requires("shapes:read"), annotations=READ_ONLY)
    async def refuses() -> int:
        """A deliberate tool error passes through unchanged."""
        raise ToolError("not found: widget 7")

    with acting_as(identity("alice", "shapes:read", audience="http://127.0.0.1:8700/mcp/shapes")):
        async with Client(mcp) as session:
            shape = await session.call_tool("count_events", {})
            crash = await session.call_tool("broken_sync", {})
            deliberate = await session.call_tool("refuses", {})
    assert shape.is_error
    assert crash.is_error
    assert deliberate.is_error
    text = text_of(shape)
    assert text.startswith("Error executing tool count_events: ")
    assert "shape this tool does not handle (KeyError: 'total')" in text
    crash_text = text_of(crash)
    assert crash_text == (
        "Error executing tool broken_sync: internal error (RuntimeError); the server log has the details"
    )
    assert "secret internals" not in crash_text
    assert text_of(deliberate) == "Error executing tool refuses: not found: widget 7"


async def test_finding4_get_on_the_mcp_endpoint_is_405_not_a_silent_stream(server: MCPServer) -> None:
    settings = settings_for(name="test")
    who = identity("bob", "test:read", audience=settings.public_url)
    headers = identity_headers(who) | {"X-MCP-Gateway-Secret": TEST_SECRET}
    with anyio.fail_after(15):
        async with serve_server(server, settings) as url, httpx2.AsyncClient() as http:
            r = await http.get(url, headers=headers | {"Accept": "text/event-stream"})
            assert r.status_code == 405
            assert r.headers["allow"] == "POST"
            assert r.json()["error"] == "method_not_allowed"
            assert (await http.get(url, headers={"Accept": "text/event-stream"})).status_code == 401
            # a browser gets a page saying what this URL is, signed in or not (issue 13 item 15)
            for extra in ({}, headers):
                page = await http.get(url, headers=extra | {"Accept": "text/html,application/xhtml+xml,*/*"})
                assert page.status_code == 405
                assert page.headers["content-type"] == "text/html; charset=utf-8"
                assert "This is an MCP endpoint" in page.text
                assert settings.public_url in page.text
            # and an SDK client, which may try the GET stream, still works
            async with connect(url, identity=who) as client:
                assert text_of(await client.call_tool("echo", {"text": "still fine"})) == "still fine"


async def test_finding4_one_callers_concurrent_calls_cannot_starve_another(
    audit_lines: list[dict[str, Any]],
) -> None:
    mcp = create_server("test")
    inside = 0
    four_inside, refused_all, release = anyio.Event(), anyio.Event(), anyio.Event()

    @mcp.tool(meta=requires("test:read"), annotations=READ_ONLY)
    async def slow() -> str:
        """Holds its slot (a backend connection, say) until released."""
        nonlocal inside
        inside += 1
        if inside == 4:
            four_inside.set()
        await release.wait()
        return "done"

    settings = settings_for(name="test")
    assert settings.max_concurrent_calls == 4

    def headers(subject: str) -> dict[str, str]:
        who = identity(subject, "test:read", audience=settings.public_url)
        return MCP_HEADERS | identity_headers(who) | {"X-MCP-Gateway-Secret": TEST_SECRET}

    with anyio.fail_after(30):
        async with serve_server(mcp, settings) as url, httpx2.AsyncClient(timeout=20) as http:
            statuses: list[int] = []

            async def bob_call() -> None:
                response = await http.post(url, json=call_body("slow"), headers=headers("bob"))
                statuses.append(response.status_code)
                if statuses.count(429) == 26:
                    refused_all.set()

            async with anyio.create_task_group() as tg:
                for _ in range(30):
                    tg.start_soon(bob_call)
                await four_inside.wait()
                await refused_all.wait()  # the 26 over the limit are refused at once, not queued
                with anyio.fail_after(1):  # while bob's four still hold their slots
                    alice = await http.post(url, json=call_body("whoami"), headers=headers("alice"))
                assert alice.status_code == 200
                assert alice.json()["result"]["structuredContent"]["subject"] == "alice"
                assert inside == 4
                release.set()
    assert sorted(statuses) == [200] * 4 + [429] * 26
    refusals = [line for line in audit_lines if line.get("status") == 429]
    assert len(refusals) == 26
    assert {line["subject"] for line in refusals} == {"bob"}
