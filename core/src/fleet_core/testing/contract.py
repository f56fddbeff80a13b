"""The behaviour every fleet server owes its callers, as one suite each server runs with one call.

A server's tests describe it once (its name, test settings, how to build it on a fake backend, its
README) and parametrize over `CHECKS`:

    from fleet_core.testing.contract import CHECKS, Contract, check_server

    @pytest.mark.anyio
    @pytest.mark.parametrize("check", CHECKS)
    async def test_contract(check: str) -> None:
        await check_server(Contract("notes", settings, build, README), check)

A change of behaviour lands here, in fleet-core, and so reaches every server (and every team's server)
on its next test run, instead of through copies of these tests that drift apart.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import sentry_sdk
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import Tool
from pydantic import SecretStr

from .._app import build_app
from .._scopes import READ_ONLY, SCOPE_META_KEY, requires
from .._settings import ServerSettings, TrustMode, env_prefix, package_name
from . import (
    MCP_HEADERS,
    TEST_SECRET,
    SentryCapture,
    call_body,
    connect,
    identity,
    identity_headers,
    running_app,
    serve_server,
)
from .differential import BothPaths, request_shapes

__all__ = ["CHECKS", "Contract", "check_server", "readme_tools"]

_ROW = re.compile(
    r"^\|\s*`(?P<name>[a-z][a-z0-9_]*)`\s*\|.*\|\s*`?(?P<scope>[\w-]+:\w+)`?\s*\|\s*(?P<ro>yes|no)\b[^|]*\|$"
)


@dataclass(frozen=True)
class Contract:
    """A server under test. `settings` are gateway-secret test settings (`settings_for(…, name=name)`);
    `build` yields the server on a backend that needs no network (a fake, or a client that is never
    reached), closing it afterwards; `readme` is the server's README.md."""

    name: str
    settings: ServerSettings
    build: Callable[[], AbstractAsyncContextManager[MCPServer]]
    readme: Path
    # the environment `fleet-<name> --stdio` needs besides its user (backend URL, token), if any
    stdio_env: Mapping[str, str] = field(default_factory=dict)
    # how to start it on stdio; default `python -m fleet_<name> --stdio`
    stdio_command: Sequence[str] | None = None
    # the fleet.toml naming it (its scopes, the dev users); default: the nearest one
    manifest: Path | None = None

    @property
    def read_scope(self) -> str:
        return f"{self.name}:read"

    @property
    def write_scope(self) -> str:
        return f"{self.name}:write"


async def _tools(mcp: MCPServer) -> list[Tool]:
    async with Client(mcp) as client:
        return list((await client.list_tools()).tools)


def _scope(tool: Tool) -> Any:
    return (tool.meta or {}).get(SCOPE_META_KEY)


async def _declared_scopes_and_honest_annotations(c: Contract, mcp: MCPServer) -> None:
    """Every tool needs `<name>:read` or `<name>:write`, and its annotations say what it does:
    all four hints set, read-only exactly when the scope is :read, never destructive then."""
    tools = await _tools(mcp)
    assert tools, f"{c.name} registers no tools"
    problems = []
    for tool in tools:
        scope = _scope(tool)
        if scope not in (c.read_scope, c.write_scope):
            problems.append(f"{tool.name}: scope {scope!r} is neither {c.read_scope} nor {c.write_scope}")
            continue
        hints = tool.annotations
        if hints is None:
            problems.append(f"{tool.name}: no annotations (use READ_ONLY, WRITE or DESTRUCTIVE)")
            continue
        unset = [
            h
            for h in ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")
            if _hint(hints, h) is None
        ]
        if unset:
            problems.append(f"{tool.name}: annotations leave {', '.join(unset)} unset")
        read_only = bool(_hint(hints, "readOnlyHint"))
        if read_only != (scope == c.read_scope):
            problems.append(f"{tool.name}: readOnlyHint={read_only} but the scope is {scope}")
        if read_only and _hint(hints, "destructiveHint"):
            problems.append(f"{tool.name}: read-only and destructive at once")
    assert not problems, "\n".join(problems)


def _hint(hints: Any, name: str) -> Any:
    """An annotation by its wire name (`readOnlyHint`); the SDK's model spells it `read_only_hint`."""
    return getattr(hints, re.sub(r"([A-Z])", r"_\1", name).lower(), None)


def readme_tools(readme: Path) -> dict[str, tuple[str, bool]]:
    """The README's `## Tools` table: tool → (scope, read-only). A row is the tool name in backticks,
    any cells, the scope (backticks optional), then `yes` / `no` (a note may follow)."""
    text = readme.read_text(encoding="utf-8")
    assert "## Tools" in text, f"{readme} has no '## Tools' section"
    section = text.split("## Tools", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return {
        m["name"]: (m["scope"], m["ro"] == "yes")
        for line in section.splitlines()
        if (m := _ROW.match(line.strip()))
    }


async def _readme_tools_table_is_tools_list(c: Contract, mcp: MCPServer) -> None:
    listed = {t.name: (_scope(t), bool(_hint(t.annotations, "readOnlyHint"))) for t in await _tools(mcp)}
    documented = readme_tools(c.readme)
    assert documented == listed, (
        f"README only: {sorted(documented.items() - listed.items())}; "
        f"tools/list only: {sorted(listed.items() - documented.items())}"
    )
    count = re.search(r"\b(\d+) tools\b", c.readme.read_text(encoding="utf-8"))
    if count:  # a README that states a count states the right one
        assert int(count[1]) == len(listed), f"the README says {count[1]} tools, tools/list has {len(listed)}"


async def _whoami_over_http(c: Contract, mcp: MCPServer) -> None:
    alice = identity("alice", c.read_scope, audience=c.settings.public_url)
    async with serve_server(mcp, c.settings) as url, connect(url, identity=alice) as client:
        result = await client.call_tool("whoami", {})
    assert not result.is_error, result
    assert result.structured_content is not None
    assert result.structured_content["subject"] == "alice"


async def _post(
    url: str, headers: dict[str, str], tool: str = "whoami", arguments: dict[str, Any] | None = None
) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=10) as http:
        return await http.post(url, json=call_body(tool, arguments), headers=MCP_HEADERS | headers)


async def _no_identity_is_401(c: Contract, mcp: MCPServer) -> None:
    async with serve_server(mcp, c.settings) as url:
        bare = await _post(url, {})
        secret_only = await _post(url, {"X-MCP-Gateway-Secret": TEST_SECRET})
    for response in (bare, secret_only):
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].startswith("Bearer ")
        assert c.settings.resource_metadata_url in response.headers["www-authenticate"]


async def _forged_identity_is_401(c: Contract, mcp: MCPServer) -> None:
    """X-MCP-* headers are believed only from the gateway: without its secret, or with a wrong one, 401."""
    admin = identity("admin", f"{c.read_scope} {c.write_scope}", audience=c.settings.public_url)
    forged = identity_headers(admin)
    async with serve_server(mcp, c.settings) as url:
        answers = [
            await _post(url, forged),
            await _post(url, forged | {"X-MCP-Gateway-Secret": "not-the-" + TEST_SECRET}),
            await _post(url, forged | {"X-MCP-Gateway-Secret": ""}),
        ]
    assert [a.status_code for a in answers] == [401, 401, 401], [a.text for a in answers]


async def _foreign_host_is_refused(c: Contract, mcp: MCPServer) -> None:
    """DNS rebinding: a Host that is neither the public origin nor loopback is refused, identity or not."""
    alice = identity("alice", c.read_scope, audience=c.settings.public_url)
    headers = identity_headers(alice) | {"X-MCP-Gateway-Secret": TEST_SECRET, "Host": "evil.example"}
    async with serve_server(mcp, c.settings) as url:
        response = await _post(url, headers)
    assert response.status_code == 421, response.text


async def _read_caller_on_write_tools_gets_the_step_up(c: Contract, mcp: MCPServer) -> None:
    """Every write tool, called with only :read, answers the exact RFC 6750 403 step-up challenge
    before the tool runs (so nothing reaches the backend)."""
    bob = identity("bob", c.read_scope, audience=c.settings.public_url)
    headers = identity_headers(bob) | {"X-MCP-Gateway-Secret": TEST_SECRET}
    writes = [t.name for t in await _tools(mcp) if _scope(t) == c.write_scope]
    expected = (
        f'Bearer error="insufficient_scope", scope="{c.read_scope} {c.write_scope}", '
        f'resource_metadata="{c.settings.resource_metadata_url}"'
    )
    wrong = {}
    async with serve_server(mcp, c.settings) as url:
        for tool in writes:
            response = await _post(url, headers, tool)
            if response.status_code != 403 or response.headers.get("www-authenticate") != expected:
                wrong[tool] = (response.status_code, response.headers.get("www-authenticate"))
    assert not wrong, f"expected 403 with {expected}, got {wrong}"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextlib.contextmanager
def _audit_lines() -> Iterator[list[str]]:
    logger = logging.getLogger("fleet.audit")
    handler, level = _Lines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


_MARK = "contract-argument-d41d8cd98f00"  # an argument value that must never reach the audit log


async def _one_audit_line_per_call_without_arguments(c: Contract, mcp: MCPServer) -> None:
    """Each call — answered, failed on its input, or refused at the gate — writes exactly one
    `fleet.audit` JSON line naming outcome, subject and tool, with the arguments as a digest only."""
    alice = identity("alice", c.read_scope, audience=c.settings.public_url)
    headers = identity_headers(alice) | {"X-MCP-Gateway-Secret": TEST_SECRET}
    writes = [t.name for t in await _tools(mcp) if _scope(t) == c.write_scope]
    calls = [("whoami", {}), ("whoami", {"unexpected": _MARK})] + [(w, {"marker": _MARK}) for w in writes[:1]]
    seen: list[list[str]] = []
    async with serve_server(mcp, c.settings) as url:
        for tool, arguments in calls:
            with _audit_lines() as lines:
                await _post(url, headers, tool, arguments)
            seen.append(lines)
    # asserted once the server is down: a failure never leaves a connection open behind it
    for (tool, arguments), lines in zip(calls, seen, strict=True):
        assert len(lines) == 1, f"{tool}: {len(lines)} audit lines: {lines}"
        assert _MARK not in lines[0], f"{tool}: a raw argument reached the audit log: {lines[0]}"
        line = json.loads(lines[0])
        assert (line["server"], line["subject"], line["tool"]) == (c.name, "alice", tool), line
        assert line["outcome"] in ("ok", "tool_error", "denied"), line
        if tool in writes:
            assert line["outcome"] == "denied", line
        elif not arguments:
            assert line["outcome"] == "ok", line
            assert str(line["args"]).startswith("sha256:"), line


async def _stdio_names_its_missing_user(c: Contract, mcp: MCPServer) -> None:
    """`fleet-<name> --stdio` without FLEET_<NAME>_STDIO_USER exits non-zero naming the variable, with no
    traceback: stdio has no front door, so the one local user is never guessed."""
    prefix = env_prefix(c.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefix)} | dict(c.stdio_env)
    package = package_name(c.name)
    command = c.stdio_command or [sys.executable, "-m", package, "--stdio"]
    done = await anyio.run_process(list(command), env=env, check=False)
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode != 0, "the server started without knowing whom it acts as"
    assert f"{prefix}STDIO_USER" in stderr, stderr
    assert "Traceback" not in stderr, stderr


async def _sentry_event_is_tagged_and_holds_no_secret(c: Contract, mcp: MCPServer) -> None:
    """With SENTRY_DSN set, an unexpected failure inside one of this server's tools reaches Sentry
    tagged with the server, the tool and the caller, holding neither the gateway secret nor the
    arguments. (The failing tool is added for the check: no real tool should fail on demand.)"""

    @mcp.tool(name="contract_failure", meta=requires(c.read_scope), annotations=READ_ONLY)
    async def contract_failure(note: str) -> str:
        """Fails unexpectedly (the contract's Sentry check)."""
        raise RuntimeError("an unexpected failure inside a tool")

    capture = SentryCapture()
    alice = identity("alice", c.read_scope, audience=c.settings.public_url)
    # Breadcrumbs outlive a disabled client: drop what earlier tests in this process logged.
    for scope in (sentry_sdk.get_global_scope(), sentry_sdk.get_isolation_scope()):
        scope.clear_breadcrumbs()
    try:
        async with running_app(capture) as ingest:
            dsn = SecretStr(f"http://publickey@127.0.0.1:{ingest.rsplit(':', 1)[1]}/42")
            settings = c.settings.model_copy(update={"sentry_dsn": dsn})
            async with serve_server(mcp, settings) as url, connect(url, identity=alice) as session:
                result = await session.call_tool("contract_failure", {"note": _MARK})
            with anyio.move_on_after(10):
                while not capture.items:  # the SDK sends from its own thread
                    sentry_sdk.flush(timeout=1)
                    await anyio.sleep(0.01)
            sentry_sdk.get_client().close(timeout=2)  # before the ingest endpoint goes away
    finally:
        sentry_sdk.init()  # back to a disabled client for whatever runs next
    assert result.is_error
    events = [e for e in capture.items if e.get("exception")]
    assert events, "no Sentry event for an unexpected failure inside a tool"
    for event in events:
        assert event["tags"]["fleet.server"] == c.name, event["tags"]
        assert event["tags"]["fleet.tool"] == "contract_failure", event["tags"]
        assert event["user"]["id"] == "alice", event.get("user")
    everything = b"".join(capture.raw).decode(errors="replace")
    assert TEST_SECRET not in everything
    assert _MARK not in everything, "a raw tool argument reached Sentry"


async def _front_door_reads_and_challenges_writes(c: Contract, mcp: MCPServer) -> None:
    """Behind the dev front door (authorization server + gateway, the manifest's topology): alice's
    read token reads, and the same token on a write tool gets the 403 step-up challenge."""
    try:
        from fleet_frontdoor.manifest import load_manifest
        from fleet_frontdoor.testing import front_door
    except ImportError as exc:  # pragma: no cover - the monorepo always has it
        raise AssertionError("this check needs fleet-frontdoor (the dev front door)") from exc
    writes = [t.name for t in await _tools(mcp) if _scope(t) == c.write_scope]
    manifest = load_manifest(c.manifest)
    with tempfile.TemporaryDirectory() as state:
        async with front_door(Path(state), [c.name], manifest=manifest) as fd:
            values = c.settings.model_dump() | fd.server_settings(c.name)
            settings = type(c.settings).model_validate(values)
            async with fd.upstream(c.name, build_app(mcp, settings)):
                read = await fd.token("alice", c.read_scope)
                async with fd.connect(c.name, read) as client:
                    me = await client.call_tool("whoami", {})
                bearer = {"Authorization": f"Bearer {read}"}
                denied = [await _post(fd.resource(c.name), bearer, tool) for tool in writes[:1]]
    assert not me.is_error, me
    for response in denied:
        challenge = response.headers.get("www-authenticate", "")
        assert response.status_code == 403, response.text
        assert 'error="insufficient_scope"' in challenge, challenge
        assert f'scope="{c.read_scope} {c.write_scope}"' in challenge, challenge


async def _fast_path_gives_the_sdks_answers(c: Contract, mcp: MCPServer) -> None:
    """Every request shape (both protocol eras, refusals included) and a call to every tool get the same
    response — status, headers, body — from the core's fast path as from the SDK's session manager
    (issue 18), both apps built on one more server (so on one backend: the SDK path calls first)."""
    tools = await _tools(mcp)
    who = identity("alice", f"{c.read_scope} {c.write_scope}", audience=c.settings.public_url)
    headers = identity_headers(who) | {"X-MCP-Gateway-Secret": TEST_SECRET}
    shapes = request_shapes(headers, tools)
    async with BothPaths(c.build, c.settings) as both:
        for shape in shapes:
            await both.exchange(shape)
    assert both.compared == len(shapes)


_CHECKS: dict[str, Callable[[Contract, MCPServer], Awaitable[None]]] = {
    "scopes_and_annotations": _declared_scopes_and_honest_annotations,
    "readme_tools_table": _readme_tools_table_is_tools_list,
    "whoami_over_http": _whoami_over_http,
    "no_identity_401": _no_identity_is_401,
    "forged_identity_401": _forged_identity_is_401,
    "foreign_host_refused": _foreign_host_is_refused,
    "read_caller_write_tool_403": _read_caller_on_write_tools_gets_the_step_up,
    "audit_line_per_call": _one_audit_line_per_call_without_arguments,
    "stdio_names_its_missing_user": _stdio_names_its_missing_user,
    "sentry_event_tagged": _sentry_event_is_tagged_and_holds_no_secret,
    "front_door_read_and_step_up": _front_door_reads_and_challenges_writes,
    "fast_path_identical": _fast_path_gives_the_sdks_answers,
}
CHECKS: tuple[str, ...] = tuple(_CHECKS)


async def check_server(contract: Contract, check: str) -> None:
    """Run one check of the contract against the server (parametrize over `CHECKS`)."""
    settings = contract.settings
    assert TrustMode(settings.trust_mode) is TrustMode.GATEWAY_SECRET, "use settings_for(…) test settings"
    assert settings.public_url.rstrip("/").endswith(f"/{contract.name}"), settings.public_url
    with anyio.fail_after(60):
        async with contract.build() as mcp:
            await _CHECKS[check](contract, mcp)
