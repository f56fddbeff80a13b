"""The official MCP conformance suite (`@modelcontextprotocol/conformance`, pinned in
client/conformance/package-lock.json, installed by scripts/setup.d/40-node.sh).

- client scenarios: every scenario of the installed version runs fleet_client through
  client/conformance/adapter.py;
- server scenarios: the ones that apply to a server without the suite's own test tools run against
  a fleet_core server and against each server of the repo, behind a minimal stand-in front door.

client/conformance/expected-failures.yml is the only allowance; the suite itself also fails the run
when an expected failure starts passing.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from fleet_core import ServerSettings, bind_loopback, create_server, package_name
from fleet_core.testing import (
    TEST_SECRET,
    identity,
    identity_headers,
    manifest_servers,
    running_app,
    settings_for,
)
from fleet_core.testing.differential import BothPaths

CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance"
EXPECTED = CONFORMANCE / "expected-failures.yml"
SERVER_SCENARIOS = [
    "server-initialize",
    "ping",
    "tools-list",
    "resources-list",
    "prompts-list",
    "logging-set-level",
    "dns-rebinding-protection",
]


def _bin(name: str) -> Path:
    path = CONFORMANCE / "node_modules" / ".bin" / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run scripts/setup.d/40-node.sh (npm ci in client/conformance)")
    return path


def _suite(*args: str) -> list[str]:
    # Run the suite's JS with the pinned Node 22 (the system node may be older).
    return [str(_bin("node")), str(_bin("conformance")), *args]


def _summary(output: str) -> str:
    lines = [line for line in output.splitlines() if re.match(r"^(✓|✗|Total|Passed:|❌|✅|⚠️)", line)]
    return "\n".join(lines)


async def _client_scenarios() -> list[str]:
    listed = await anyio.run_process(_suite("list"), cwd=CONFORMANCE)
    section = listed.stdout.decode().split("Client scenarios", 1)[1]
    return re.findall(r"^\s+- (\S+)", section, flags=re.MULTILINE)


async def _run_client_scenario(scenario: str, failures: dict[str, str]) -> None:
    command = f"{sys.executable} {CONFORMANCE / 'adapter.py'}"
    args = ["client", "--command", command, "--scenario", scenario, "--timeout", "60000"]
    result = await anyio.run_process(
        _suite(*args, "--expected-failures", str(EXPECTED)), cwd=CONFORMANCE, check=False
    )
    if result.returncode != 0:
        output = result.stdout.decode() + result.stderr.decode()
        failures[scenario] = _summary(output) or output[-2000:]


# Timing checks (SEP-1699 reconnect delay) run alone: under parallel load they measure the machine.
TIMING_SENSITIVE = {"sse-retry"}


async def test_conformance_client_scenarios() -> None:
    failures: dict[str, str] = {}
    with anyio.fail_after(170):
        scenarios = await _client_scenarios()
        assert {"initialize", "tools_call", "auth/basic-cimd", "auth/pre-registration"} <= set(scenarios)
        limiter = anyio.CapacityLimiter(4)

        async def one(scenario: str) -> None:
            async with limiter:
                await _run_client_scenario(scenario, failures)

        async with anyio.create_task_group() as tg:
            for scenario in scenarios:
                if scenario not in TIMING_SENSITIVE:
                    tg.start_soon(one, scenario)
        for scenario in sorted(TIMING_SENSITIVE & set(scenarios)):
            await _run_client_scenario(scenario, failures)
    assert not failures, "\n\n".join(f"{name}:\n{text}" for name, text in failures.items())


def _front_door(app: Any, audience: str, scopes: str) -> Any:
    """Stands in for the gateway: proves the request came through it (secret) and names a caller."""
    who = identity("conformance", scopes, audience=audience)
    added = [
        (k.lower().encode(), v.encode())
        for k, v in {**identity_headers(who), "X-MCP-Gateway-Secret": TEST_SECRET}.items()
    ]

    async def shim(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            kept = [(k, v) for k, v in scope["headers"] if not k.lower().startswith(b"x-mcp-")]
            scope = {**scope, "headers": kept + added}
        await app(scope, receive, send)

    return shim


def _fleet_server(name: str, port: int) -> tuple[Any, ServerSettings, str]:
    """How to build the server (a context manager factory), its settings, and its URL."""
    url = f"http://127.0.0.1:{port}/mcp"
    if name == "core":
        settings = settings_for(name="core", path="/mcp", public_url=url, port=port)
        return _yielding(lambda: create_server("core")), settings, url
    package = package_name(name)
    module = importlib.import_module(f"{package}.server")
    settings_cls = next(
        v
        for k, v in vars(importlib.import_module(f"{package}.settings")).items()
        if k.endswith("Settings") and k != "ServerSettings"
    )
    # required backend settings (URL, credentials) get placeholders: these scenarios never reach the backend
    extra = {
        field: "http://127.0.0.1:9/" if field == "url" or field.endswith("_url") else "placeholder"
        for field, info in settings_cls.model_fields.items()
        if info.is_required() and field not in ServerSettings.model_fields
    }
    settings = settings_for(settings_cls, name=name, path="/mcp", public_url=url, port=port, **extra)
    # initialize / tools/list / dns checks never reach the backend: none is started.
    return _yielding(lambda: module.build_server(settings, object())), settings, url


def _yielding(build: Any) -> Any:
    @contextlib.asynccontextmanager
    async def built() -> AsyncIterator[Any]:
        yield build()

    return built


@pytest.mark.parametrize("server", ["core", *manifest_servers(Path(__file__))])
async def test_conformance_server_scenarios(server: str) -> None:
    """Each request of the suite goes to the server through both the core's fast path and the SDK's
    session manager (fleet_core.testing.differential): the responses must be identical too."""
    sock = bind_loopback()  # bound now: a port picked now and bound later can be taken in between
    port = sock.getsockname()[1]
    build, settings, url = _fleet_server(server, port)
    scopes = f"{server}:read {server}:write"
    failures = []
    async with (
        BothPaths(build, settings) as both,
        running_app(_front_door(both.relay, url, scopes), sock=sock, lifespan="off"),
    ):
        with anyio.fail_after(120):
            for scenario in SERVER_SCENARIOS:
                result = await anyio.run_process(
                    _suite(
                        "server", "--url", url, "--scenario", scenario, "--expected-failures", str(EXPECTED)
                    ),
                    cwd=CONFORMANCE,
                    check=False,
                )
                if result.returncode != 0:
                    failures.append(
                        f"{scenario}:\n{_summary(result.stdout.decode() + result.stderr.decode())}"
                    )
    assert not failures, "\n".join(failures)
    assert not both.differences, "\n".join(both.differences)
    assert both.compared >= len(SERVER_SCENARIOS)
