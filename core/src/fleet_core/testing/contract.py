"""The behaviour every fleet server owes its callers, as one suite each server runs with one call.

A server's tests describe it once (its name, test settings, how to build it on a fake backend, its
README) and parametrize over `CHECKS`:

    from fleet_core.testing.contract import CHECKS, Contract, check_server
    @pytest.mark.parametrize("check", CHECKS)
    async def test_contract(check: str) -> None:
        await check_server(Contract("notes", settings, build, README), check)

That is the whole of it for a server whose tools work on arguments built from their input schemas, whose
`python -m fleet_notes --stdio` starts on `stdio_env`, and whose `fleet_notes.dev.backend` hook gives a
backend. The optional fields sharpen checks: `calls` (example arguments a tool needs, e.g. a repository the
fake has), `write_call` (a write that succeeds on the test backend: then "a write token writes" means
a successful result), `backend_requests` (the fake's request count: then "an unmapped caller is refused
before any backend request" is counted, not only read from the refusal).

A change of behaviour lands here, in fleet-core, and so reaches every server (and every team's server)
on its next test run, instead of through copies of these tests that drift apart.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import httpx2
from mcp import Client, MCPError
from mcp.server.mcpserver import MCPServer
from mcp.types import Tool

from .._app import build_app
from .._scopes import READ_ONLY, SCOPE_META_KEY, requires
from .._settings import ServerSettings, TrustMode, env_prefix, package_name
from . import (
    MCP_HEADERS,
    TEST_SECRET,
    call_body,
    capture_audit,
    connect,
    free_port,
    identity,
    identity_headers,
    sentry_capture,
    serve_server,
)
from .differential import BothPaths, request_shapes

__all__ = ["CHECKS", "Contract", "check_server", "example_arguments", "readme_tools"]

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
    # what `fleet-<name> --stdio` needs besides its user and its dev hook's env (backend URL, token), if any
    stdio_env: Mapping[str, str] = field(default_factory=dict)
    # how to start it on stdio; default `python -m fleet_<name> --stdio`
    stdio_command: Sequence[str] | None = None
    # the fleet.toml naming it (its scopes, the dev users); default: the nearest one
    manifest: Path | None = None
    # example arguments per tool; a tool not named gets minimal arguments built from its input schema
    calls: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # a write (tool, arguments) that succeeds on the test backend for alice behind the dev front door
    write_call: tuple[str, Mapping[str, Any]] | None = None
    # how many requests the test backend has answered so far (e.g. `lambda: len(fake.requests)`)
    backend_requests: Callable[[], int] | None = None
    # how to start it as a program serving HTTP; default `python -m fleet_<name>`
    command: Sequence[str] | None = None
    # its `fleet dev` hook (workdir → env); default `fleet_<name>.dev.backend`
    dev_backend: Callable[[Path], AbstractAsyncContextManager[Mapping[str, str]]] | None = None

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
            with capture_audit() as audit:
                await _post(url, headers, tool, arguments)
            seen.append(audit.raw)
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

    alice = identity("alice", c.read_scope, audience=c.settings.public_url)
    async with sentry_capture() as sentry:
        settings = sentry.with_dsn(c.settings)
        async with serve_server(mcp, settings) as url, connect(url, identity=alice) as session:
            result = await session.call_tool("contract_failure", {"note": _MARK})
        events = [e for e in await sentry.wait_for_events() if e.get("exception")]
    assert result.is_error
    assert events, "no Sentry event for an unexpected failure inside a tool"
    for event in events:
        assert event["tags"]["fleet.server"] == c.name, event["tags"]
        assert event["tags"]["fleet.tool"] == "contract_failure", event["tags"]
        assert event["user"]["id"] == "alice", event.get("user")
    everything = sentry.everything()
    assert TEST_SECRET not in everything
    assert _MARK not in everything, "a raw tool argument reached Sentry"


async def _front_door_reads_and_challenges_writes(c: Contract, mcp: MCPServer) -> None:
    """Behind the dev front door (authorization server + gateway, the manifest's topology): alice's
    read token reads, the same token on a write tool gets the 403 step-up challenge, and her write token
    writes — the call passes the gate and her account, and with `write_call` it succeeds."""
    try:
        from fleet_frontdoor.manifest import load_manifest
        from fleet_frontdoor.testing import front_door
    except ImportError as exc:  # pragma: no cover - the monorepo always has it
        raise AssertionError("this check needs fleet-frontdoor (the dev front door)") from exc
    tools = {t.name: t for t in await _tools(mcp) if _scope(t) == c.write_scope}
    assert tools, f"{c.name} has no write tool to check"
    name, arguments = c.write_call or (
        next(iter(tools)),
        example_arguments(next(iter(tools.values())), c.calls),
    )
    manifest = load_manifest(c.manifest)
    before = c.backend_requests() if c.backend_requests else None
    with tempfile.TemporaryDirectory() as state:
        async with front_door(Path(state), [c.name], manifest=manifest) as fd:
            values = c.settings.model_dump() | fd.server_settings(c.name)
            settings = type(c.settings).model_validate(values)
            async with fd.upstream(c.name, build_app(mcp, settings)):
                read = await fd.token("alice", c.read_scope)
                async with fd.connect(c.name, read) as client:
                    me = await client.call_tool("whoami", {})
                bearer = {"Authorization": f"Bearer {read}"}
                denied = await _post(fd.resource(c.name), bearer, name, dict(arguments))
                write = await fd.token("alice", f"{c.read_scope} {c.write_scope}")
                async with fd.connect(c.name, write) as client:
                    wrote = await client.call_tool(name, dict(arguments))
    assert not me.is_error, me
    challenge = denied.headers.get("www-authenticate", "")
    assert denied.status_code == 403, denied.text
    assert 'error="insufficient_scope"' in challenge, challenge
    assert f'scope="{c.read_scope} {c.write_scope}"' in challenge, challenge
    assert "account name" not in _text(wrote), f"alice's write token was refused her account: {_text(wrote)}"
    if c.write_call is not None:
        assert not wrote.is_error, f"alice's write token could not write with {name}: {_text(wrote)}"
    if c.backend_requests is not None:
        assert c.backend_requests() > (before or 0), f"{name} with a write token never reached the backend"


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


def example_arguments(tool: Tool, calls: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Arguments for `tool`: the contract's example for it if given, else the smallest its input schema
    accepts (each required property: its default, first enum value, or a plain value of its type), with
    `confirm` true (the fleet's flag a destructive tool wants before it acts)."""
    if calls and tool.name in calls:
        return dict(calls[tool.name])
    schema = tool.input_schema or {}
    defs = schema.get("$defs", {})
    required = schema.get("required", [])
    properties = schema.get("properties", {})
    arguments = {name: _example(properties.get(name, {}), defs) for name in required}
    if properties.get("confirm", {}).get("type") == "boolean":
        arguments["confirm"] = True
    return arguments


def _example(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Any:
    if "$ref" in schema:
        return _example(defs.get(str(schema["$ref"]).rsplit("/", 1)[-1], {}), defs)
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key, []) if o.get("type") != "null"]
        if options:
            return _example(options[0], defs)
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
        return max(1, int(low)) if kind == "integer" else max(1.0, float(low))
    if kind == "boolean":
        return False
    if kind == "string" and schema.get("format") in ("date", "date-time"):
        return "2026-01-01" if schema["format"] == "date" else "2026-01-01T00:00:00Z"
    if kind == "array":
        return [_example(schema.get("items", {}), defs)] * int(schema.get("minItems", 0))
    if kind == "object":
        return {
            k: _example(v, defs)
            for k, v in schema.get("properties", {}).items()
            if k in schema.get("required", [])
        }
    return "contract" * max(1, -(-int(schema.get("minLength", 0)) // 8))


_NOBODY = "contract-unmapped-caller"


async def _unmapped_caller_is_refused_before_the_backend(c: Contract, mcp: MCPServer) -> None:
    """A caller with write scopes but no backend account name (no user-map entry, and the server told to
    look nowhere else) gets, from every write tool, a tool error that names them, and the backend sees
    no request: never the service account's power (DESIGN §3.3)."""
    settings = c.settings.model_copy(update={"account_source": "user_map"})
    assert _NOBODY not in settings.user_map
    nobody = identity(_NOBODY, f"{c.read_scope} {c.write_scope}", audience=c.settings.public_url)
    tools = [t for t in await _tools(mcp) if _scope(t) == c.write_scope]
    before = c.backend_requests() if c.backend_requests else None
    answers: dict[str, str] = {}
    async with serve_server(mcp, settings) as url, connect(url, identity=nobody) as client:
        for tool in tools:
            result = await client.call_tool(tool.name, example_arguments(tool, c.calls))
            answers[tool.name] = _text(result) if result.is_error else f"answered: {_text(result)[:200]}"
    # a refusal of this caller names them; a tool that failed on its input, or reached the backend, doesn't
    wrong = {name: text for name, text in answers.items() if _NOBODY not in text}
    assert not wrong, f"write tools that did not refuse the unmapped caller for want of an account: {wrong}"
    if c.backend_requests is not None:
        made = c.backend_requests() - (before or 0)
        assert made == 0, f"the backend got {made} request(s) for a caller the server has no account for"


def _text(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


async def _stdio_serves_its_user(c: Contract, mcp: MCPServer) -> None:
    """`fleet-<name> --stdio` with FLEET_<NAME>_STDIO_USER (on the `fleet dev` hook's backend) serves that
    one user over stdio: whoami names them, and with the default read scope every write tool is refused
    (the scope rules still apply without a front door)."""
    from mcp import StdioServerParameters

    prefix = env_prefix(c.name)
    command = list(c.stdio_command or [sys.executable, "-m", package_name(c.name), "--stdio"])
    writes = [t for t in await _tools(mcp) if _scope(t) == c.write_scope]
    refused: dict[str, bool] = {}
    async with _dev_env(c) as extra:
        env = {k: v for k, v in os.environ.items() if not k.startswith(prefix)} | dict(c.stdio_env)
        env |= dict(extra) | {prefix + "STDIO_USER": "contract-stdio-user"}
        params = StdioServerParameters(command=command[0], args=command[1:], env=env)
        async with Client(params) as client:
            me = await client.call_tool("whoami", {})
            for tool in writes:
                try:
                    result = await client.call_tool(tool.name, example_arguments(tool, c.calls))
                except MCPError:
                    refused[tool.name] = True
                else:
                    refused[tool.name] = result.is_error and c.write_scope in _text(result)
    assert not me.is_error, me
    assert me.structured_content is not None
    assert me.structured_content.get("subject", me.structured_content) == "contract-stdio-user", me
    assert all(refused.values()), f"write tools a read-only stdio user could call: {refused}"


@contextlib.asynccontextmanager
async def _dev_env(c: Contract) -> AsyncIterator[Mapping[str, str]]:
    """The environment the server's `fleet dev` hook gives it (its backend, started for the check)."""
    hook = c.dev_backend or importlib.import_module(package_name(c.name) + ".dev").backend
    with tempfile.TemporaryDirectory() as work:
        async with hook(Path(work)) as extra:
            yield extra


async def _dev_backend_is_ready(c: Contract, mcp: MCPServer) -> None:
    """The `fleet dev` hook yields an environment under which the server, started as a program, answers
    /readyz 200 (its backend is there and the service credential works)."""
    prefix = env_prefix(c.name)
    port = free_port()
    own = {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PUBLIC_URL": c.settings.public_url,
        "TRUST_MODE": "gateway-secret",
        "GATEWAY_SECRETS": TEST_SECRET,
        "WORKERS": "1",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefix)}
    command = list(c.command or [sys.executable, "-m", package_name(c.name)])
    statuses: list[int] = []
    with tempfile.TemporaryFile() as log:
        async with _dev_env(c) as extra:
            env |= dict(extra) | {prefix + k: v for k, v in own.items()}
            process = await anyio.open_process(command, env=env, stdout=log, stderr=log)
            try:
                statuses = await _readyz(f"http://127.0.0.1:{port}/readyz", process)
            finally:
                process.terminate()
                with anyio.move_on_after(10):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
                    await process.wait()
        log.seek(0)
        output = log.read().decode(errors="replace")[-2000:]
    assert statuses, f"the server never answered /readyz:\n{output}"
    assert statuses[-1] == 200, f"/readyz answered {statuses} under the dev hook's environment:\n{output}"


async def _readyz(url: str, process: anyio.abc.Process) -> list[int]:
    """/readyz's answers until it is 200, or for 5 s after the first answer (a backend still starting)."""
    statuses: list[int] = []
    async with httpx2.AsyncClient(timeout=5) as http:
        with anyio.move_on_after(45):
            while process.returncode is None:
                try:
                    statuses.append((await http.get(url)).status_code)
                except httpx2.TransportError:
                    await anyio.sleep(0.1)
                    continue
                if statuses[-1] == 200 or len(statuses) > 25:
                    break
                await anyio.sleep(0.2)
    return statuses


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
    "unmapped_caller_refused": _unmapped_caller_is_refused_before_the_backend,
    "stdio_serves_its_user": _stdio_serves_its_user,
    "dev_backend_ready": _dev_backend_is_ready,
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
