"""What `fleet workshop check NN` checks, per chapter. Each check looks at the attendee's work folder
(and the repo), raises CheckFailed with what it found, and has a title and hint in workshop/hints.toml.
CI holds every chapter to the two-way rule: its checks fail on the chapter's start state and pass on
its end state (frontdoor/tests/test_workshop.py)."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio
import httpx2
import jwt

from .checks import Check, CheckFailed, Target

__all__ = ["CHECKS", "doctor_report"]

_T = TypeVar("_T")
TIMEOUT = 30.0


def _file(target: Target, name: str) -> Path:
    path = target.work / name
    if not path.is_file():
        raise CheckFailed(f"workshop/work/{name} does not exist")
    return path


def _module(target: Target, name: str) -> ModuleType:
    """Import the attendee's file afresh (a new module name each time, so --watch sees edits)."""
    path = _file(target, name)
    spec = importlib.util.spec_from_file_location(f"workshop_{path.stem}_{uuid.uuid4().hex}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        last = traceback.extract_tb(exc.__traceback__)[-1]
        raise CheckFailed(
            f"importing workshop/work/{name} failed: {type(exc).__name__}: {exc} (line {last.lineno})"
        ) from exc
    return module


def _attr(module: ModuleType, name: str, file: str) -> Any:
    value = getattr(module, name, None)
    if value is None:
        raise CheckFailed(f"workshop/work/{file} defines no `{name}`")
    return value


def _run(fn: Callable[[], Awaitable[_T]]) -> _T:
    async def bounded() -> _T:
        with anyio.fail_after(TIMEOUT):
            return await fn()

    return anyio.run(bounded)


# -- 00 set-up -----------------------------------------------------------------------------------------


def doctor_report(target: Target) -> dict[str, Any]:
    path = _file(target, "doctor.json")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CheckFailed(f"workshop/work/doctor.json is not JSON: {exc}") from exc
    if not isinstance(report, dict):
        raise CheckFailed("workshop/work/doctor.json is not a JSON object")
    return report


def _doctor_saved(target: Target) -> None:
    report = doctor_report(target)
    if report.get("result") != "passed":
        raise CheckFailed(f"workshop/work/doctor.json says {report.get('result')!r}, not 'passed'")


def _tools_now(target: Target) -> None:
    from .doctor import required_findings

    missing = [f"{f.name}: {f.found}" for f in required_findings(target.root) if not f.ok]
    if missing:
        raise CheckFailed("; ".join(missing))


# -- 01 hello ------------------------------------------------------------------------------------------


def _hello_server(target: Target) -> Any:
    from mcp.server.mcpserver import MCPServer

    build = _attr(_module(target, "hello.py"), "build_server", "hello.py")
    server = build()
    if not isinstance(server, MCPServer):
        raise CheckFailed(f"build_server() returned {type(server).__name__}, not an MCPServer")
    return server


def _hello_builds(target: Target) -> None:
    _hello_server(target)


def _hello_tool(target: Target) -> None:
    from mcp import Client

    server = _hello_server(target)

    async def tools() -> list[Any]:
        async with Client(server) as client:
            return list((await client.list_tools()).tools)

    listed = {tool.name: tool for tool in _run(tools)}
    greet = listed.get("greet")
    if greet is None:
        raise CheckFailed(f"the server's tools are {sorted(listed) or 'none'}; no `greet`")
    if not greet.description:
        raise CheckFailed("`greet` has no description (the docstring becomes it)")
    properties = greet.input_schema.get("properties", {})
    if properties.get("name", {}).get("type") != "string":
        raise CheckFailed(f"`greet` should take one string argument `name`; its input schema: {properties}")


def _hello_greets(target: Target) -> None:
    from mcp import Client

    server = _hello_server(target)

    async def call() -> Any:
        async with Client(server) as client:
            return await client.call_tool("greet", {"name": "Ada"})

    result = _run(call)
    if result.is_error or result.structured_content != {"message": "Hello, Ada!"}:
        raise CheckFailed(f"greet(name='Ada') answered {result.structured_content or result.content}")


def _python(target: Target, *args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this Python, on the attendee's own file
        [sys.executable, *args],
        cwd=target.root,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _hello_runs(target: Target) -> None:
    done = _python(target, str(_file(target, "hello.py")))
    if done.returncode != 0 or "Hello, Ada!" not in done.stdout:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise CheckFailed(f"exit status {done.returncode}, output: {' | '.join(tail) or done.stdout!r}")


# -- 02 over HTTP --------------------------------------------------------------------------------------

LEGACY = "2025-11-25"
CURRENT = "2026-07-28"


def _post(url: str, version: str, body: dict[str, Any]) -> httpx2.Response:
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": version,
    }
    if version == CURRENT:  # 2026-07-28: method and name also as headers, the envelope in _meta
        headers["Mcp-Method"] = str(body["method"])
        if "name" in body["params"]:
            headers["Mcp-Name"] = str(body["params"]["name"])
        body["params"]["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": CURRENT,
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    return httpx2.post(url, json=body, headers=headers, timeout=10, trust_env=False)


def _greet_body() -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "greet", "arguments": {"name": "Ada"}},
    }


@dataclass(frozen=True)
class _Served:
    answers: dict[str, tuple[int, dict[str, Any]]]  # protocol version -> (HTTP status, JSON body)
    command: str
    url: str
    output: str


@functools.lru_cache(maxsize=8)
def _serve_hello(root: Path, hello: Path, digest: str) -> _Served:
    """Start the attendee's `hello.py --http` once per version of the file and POST a tools/call in both
    protocol eras (the two checks of chapter 02 share the server; an edit makes a new digest)."""
    from fleet_core.testing import free_port

    answers: dict[str, tuple[int, dict[str, Any]]] = {}
    output, port, url = "", 0, ""
    for _ in range(3):  # the port is picked here and bound by the attendee's server: another may take it
        port = free_port()
        url = f"http://127.0.0.1:{port}/mcp"
        with subprocess.Popen(  # noqa: S603 - this Python, on the attendee's own file
            [sys.executable, str(hello), "--http", "--port", str(port)],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as process:
            try:
                for version in (LEGACY, CURRENT):
                    response = _first_answer(process, url, version)
                    if response is not None:
                        answers[version] = (response.status_code, _json(response))
            finally:
                process.terminate()
                output, _ = process.communicate(timeout=10)
        if answers or "address already in use" not in output:
            break
    command = f"python workshop/work/hello.py --http --port {port}"
    return _Served(answers, command, url, output)


def _json(response: httpx2.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _serving_hello(target: Target, version: str) -> None:
    hello = _file(target, "hello.py")
    served = _serve_hello(target.root, hello, hashlib.sha256(hello.read_bytes()).hexdigest())
    if version not in served.answers:
        tail = " | ".join(served.output.strip().splitlines()[-3:])
        raise CheckFailed(
            f"`{served.command}` did not answer at {served.url}" + (f" (it printed: {tail})" if tail else "")
        )
    status, body = served.answers[version]
    if status != 200:
        raise CheckFailed(f"POST {served.url} with MCP-Protocol-Version {version}: HTTP {status}")
    if body.get("result", {}).get("structuredContent") != {"message": "Hello, Ada!"}:
        raise CheckFailed(f"MCP-Protocol-Version {version}: tools/call greet answered {body}")


def _first_answer(process: subprocess.Popen[str], url: str, version: str) -> httpx2.Response | None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None
        try:
            return _post(url, version, _greet_body())
        except httpx2.TransportError:
            time.sleep(0.2)
    return None


def _http_legacy(target: Target) -> None:
    _serving_hello(target, LEGACY)


def _http_current(target: Target) -> None:
    _serving_hello(target, CURRENT)


# -- 03 the front door tour --------------------------------------------------------------------------


def _answers(target: Target, name: str) -> dict[str, Any]:
    path = _file(target, name)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CheckFailed(f"workshop/work/{name} is not valid TOML: {exc}") from exc


@functools.cache
def _door_facts(root: Path) -> dict[str, Any]:
    """What the front door really answers, observed on a throwaway one built from the repo's manifest
    (the dev authorization server and the dev gateway, in-process): the answers are checked against
    this, not against values written into the check."""
    from ..manifest import load_manifest
    from ..testing import front_door

    async def observe() -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as state:
            manifest = load_manifest(root / "fleet.toml")
            async with (
                front_door(Path(state), ["gitea", "sentry"], manifest=manifest) as door,
                httpx2.AsyncClient(timeout=10, trust_env=False) as http,
            ):
                anonymous = await http.post(door.resource("gitea"))
                challenge = anonymous.headers.get("www-authenticate", "")
                prm_url = re.search(r'resource_metadata="([^"]+)"', challenge)
                assert prm_url is not None, challenge
                prm = (await http.get(prm_url.group(1))).json()
                token = await door.token("alice", "gitea:read")
                wrong = await http.post(door.resource("sentry"), headers={"Authorization": f"Bearer {token}"})
        claims = jwt.decode(token, options={"verify_signature": False})
        return {
            "status_without_token": anonymous.status_code,
            "resource_metadata_path": urlsplit(prm_url.group(1)).path,
            "scopes_supported": prm["scopes_supported"],
            "status_gitea_token_at_sentry": wrong.status_code,
            "subject_is_the_username": claims["sub"] == "alice",
            "account": claims.get("extra_uid", claims["sub"]),
        }

    return _run(observe)


def _blank(value: object) -> bool:
    return value is None or (not isinstance(value, bool) and value in (0, "", []))


def _door_answered(target: Target) -> None:
    answers = _answers(target, "03-answers.toml")
    blank = [key for key in _door_facts(target.root) if _blank(answers.get(key))]
    if blank:
        raise CheckFailed(f"not filled in yet: {', '.join(blank)}")


def _door_compare(target: Target, keys: tuple[str, ...]) -> None:
    answers, facts = _answers(target, "03-answers.toml"), _door_facts(target.root)
    wrong = [f"{key} = {answers.get(key)!r}" for key in keys if answers.get(key) != facts[key]]
    if wrong:
        raise CheckFailed("not what the front door answers: " + ", ".join(wrong))


def _door_challenge(target: Target) -> None:
    _door_compare(target, ("status_without_token", "resource_metadata_path", "scopes_supported"))


def _door_one_resource(target: Target) -> None:
    _door_compare(target, ("status_gitea_token_at_sentry",))


def _door_identity(target: Target) -> None:
    _door_compare(target, ("subject_is_the_username", "account"))


# -- 05 log in like a client -------------------------------------------------------------------------

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _login_answers(target: Target) -> None:
    answers = _answers(target, "05-answers.toml")
    expected = {"ci_job": {"client_credentials"}, "no_browser": {"device_code", DEVICE_GRANT}}
    expected["laptop"] = {"authorization_code"}
    blank = [key for key in expected if _blank(answers.get(key))]
    if blank:
        raise CheckFailed(f"not filled in yet: {', '.join(blank)}")
    wrong = [f"{key} = {answers[key]!r}" for key, right in expected.items() if answers[key] not in right]
    if wrong:
        raise CheckFailed("not the grant that fits: " + ", ".join(wrong))


def _login_client_credentials(target: Target) -> None:
    from ..manifest import load_manifest

    config = _answers(target, "fleet-client.toml").get("client_credentials")
    if not isinstance(config, dict) or not config.get("client_id"):
        raise CheckFailed("workshop/work/fleet-client.toml has no [client_credentials] client_id")
    clients = {c.client_id: c for c in load_manifest(target.root / "fleet.toml").clients}
    client = clients.get(str(config["client_id"]))
    if client is None or "client_credentials" not in client.grant_types:
        able = [c.client_id for c in clients.values() if "client_credentials" in c.grant_types]
        raise CheckFailed(f"client_id {config['client_id']!r} is not one of fleet.toml's {able}")
    if config.get("client_secret_env") != client.secret_env:
        raise CheckFailed(
            f"client_secret_env is {config.get('client_secret_env')!r}; fleet dev reads "
            f"{client.client_id}'s secret from ${client.secret_env}"
        )


def _login_cimd(target: Target) -> None:
    # the dev authorization server's own parser of a fetched Client ID Metadata Document
    from ..authserver.cimd import CimdError, parse_metadata

    path = _file(target, "client-metadata.json")
    try:
        client_id = json.loads(path.read_text(encoding="utf-8")).get("client_id", "")
    except (ValueError, AttributeError) as exc:
        raise CheckFailed(f"workshop/work/client-metadata.json is not a JSON object: {exc}") from exc
    url = urlsplit(client_id) if isinstance(client_id, str) else None
    if url is None or url.scheme != "https" or url.path in ("", "/"):
        raise CheckFailed(f"client_id {client_id!r} is not an https URL with a path")
    try:
        parse_metadata(client_id, path.read_bytes())
    except CimdError as exc:
        raise CheckFailed(f"the authorization server would refuse it: {exc}") from exc


# -- 04 trust the door ---------------------------------------------------------------------------------


def _notes(target: Target) -> tuple[Any, Any]:
    from fleet_core import ServerSettings

    module = _module(target, "notes.py")
    settings_class = _attr(module, "NotesSettings", "notes.py")
    build = _attr(module, "build_server", "notes.py")
    if not (isinstance(settings_class, type) and issubclass(settings_class, ServerSettings)):
        raise CheckFailed("NotesSettings must be a subclass of fleet_core.ServerSettings")
    return settings_class, build


def _notes_settings(settings_class: Any) -> Any:
    from fleet_core.testing import TEST_SECRET

    return settings_class(
        public_url="http://127.0.0.1:8700/mcp/notes", trust_mode="gateway-secret", gateway_secrets=TEST_SECRET
    )


def _notes_builds(target: Target) -> None:
    from fleet_core import build_app

    settings_class, build = _notes(target)
    settings = _notes_settings(settings_class)
    try:
        build_app(build(settings, {}), settings)
    except (TypeError, ValueError) as exc:
        raise CheckFailed(f"build_app(build_server(settings, {{}}), settings) refused: {exc}") from exc


def _notes_tools(target: Target) -> None:
    from mcp import Client

    from fleet_core.testing import acting_as, identity

    settings_class, build = _notes(target)
    settings = _notes_settings(settings_class)
    who = identity("alice", "notes:read notes:write", audience=settings.public_url)

    async def names() -> set[str]:
        with acting_as(who):
            async with Client(build(settings, {})) as client:
                return {tool.name for tool in (await client.list_tools()).tools}

    missing = {"list_notes", "add_note"} - _run(names)
    if missing:
        raise CheckFailed(f"the server has no {', '.join(sorted(missing))}")


def _notes_as_caller(target: Target) -> None:
    from fleet_core.testing import connect, identity, serve_server

    settings_class, build = _notes(target)
    settings = _notes_settings(settings_class)
    store: dict[str, list[str]] = {}
    alice = identity("alice", "notes:read notes:write", audience=settings.public_url)
    bob = identity("bob", "notes:read", audience=settings.public_url)

    async def calls() -> tuple[Any, Any]:
        async with serve_server(build(settings, store), settings) as url:
            async with connect(url, identity=alice) as client:
                added = await client.call_tool("add_note", {"text": "hi"})
            async with connect(url, identity=bob) as client:
                theirs = await client.call_tool("list_notes", {})
        return added, theirs

    added, theirs = _run(calls)
    if added.is_error or added.structured_content != {"owner": "alice", "notes": ["hi"]}:
        raise CheckFailed(f"alice's add_note text='hi' answered {added.structured_content or added.content}")
    if theirs.is_error or theirs.structured_content != {"owner": "bob", "notes": []}:
        raise CheckFailed(f"bob's list_notes answered {theirs.structured_content or theirs.content}")


def _notes_scope(target: Target) -> None:
    from fleet_core.testing import (
        MCP_HEADERS,
        TEST_SECRET,
        call_body,
        identity,
        identity_headers,
        serve_server,
    )

    settings_class, build = _notes(target)
    settings = _notes_settings(settings_class)
    bob = identity("bob", "notes:read", audience=settings.public_url)

    async def call() -> httpx2.Response:
        async with serve_server(build(settings, {}), settings) as url, httpx2.AsyncClient() as http:
            headers = MCP_HEADERS | identity_headers(bob) | {"X-MCP-Gateway-Secret": TEST_SECRET}
            return await http.post(url, json=call_body("add_note", {"text": "x"}), headers=headers)

    response = _run(call)
    challenge = response.headers.get("www-authenticate", "")
    if response.status_code != 403 or "insufficient_scope" not in challenge:
        raise CheckFailed(
            f"bob (notes:read only) calling add_note got HTTP {response.status_code}, "
            "not 403 insufficient_scope"
        )


def _notes_forged(target: Target) -> None:
    from fleet_core.testing import MCP_HEADERS, call_body, identity, identity_headers, serve_server

    settings_class, build = _notes(target)
    settings = _notes_settings(settings_class)
    mallory = identity("alice", "notes:read notes:write", audience=settings.public_url)

    async def call() -> httpx2.Response:
        async with serve_server(build(settings, {}), settings) as url, httpx2.AsyncClient() as http:
            headers = MCP_HEADERS | identity_headers(mallory)  # every X-MCP-* header, but no gateway secret
            return await http.post(url, json=call_body("list_notes"), headers=headers)

    response = _run(call)
    if response.status_code != 401:
        raise CheckFailed(
            f"forged X-MCP-* headers without the gateway secret got HTTP {response.status_code}"
        )


# -- 06 scaffold your server -----------------------------------------------------------------------

SERVER = "notes"  # the attendee's server from chapter 06 on (chapters.toml: scaffold)
OWN_TESTS = {"06": "test_my_notes.py"}  # the one test the attendee adds, per chapter


def _pytest(target: Target, *paths: str) -> subprocess.CompletedProcess[str]:
    """The attendee's tests, with this Python (`uv run fleet …`: the workspace, where `fleet new`
    installed the server)."""
    return _python(target, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths, timeout=120)


def _summary(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stdout.strip().splitlines() if line.strip()]
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    return " | ".join(failed[:3] + lines[-1:]) or done.stderr.strip()[-300:]


def _scaffold_registered(target: Target) -> None:
    from ..manifest import load_manifest

    package = target.root / "servers" / SERVER / "src" / f"fleet_{SERVER}"
    missing = [
        f"servers/{SERVER}/src/fleet_{SERVER}/{name}"
        for name in ("server.py", "settings.py", "backend.py", "dev.py", "deploy.py")
        if not (package / name).is_file()
    ]
    if missing:
        raise CheckFailed(f"not generated: {', '.join(missing)}")
    servers = {s.name: s for s in load_manifest(target.root / "fleet.toml").servers}
    if SERVER not in servers:
        raise CheckFailed(f"fleet.toml has no [[servers]] entry named {SERVER!r}")
    scopes = set(servers[SERVER].scopes)
    if scopes != {f"{SERVER}:read", f"{SERVER}:write"}:
        raise CheckFailed(f"fleet.toml gives {SERVER} the scopes {sorted(scopes)}")
    project = tomllib.loads((target.root / "pyproject.toml").read_text(encoding="utf-8"))
    if f"fleet-{SERVER}" not in project.get("project", {}).get("dependencies", []):
        raise CheckFailed(f"fleet-{SERVER} is not a workspace member in the root pyproject.toml")


def _scaffold_contract(target: Target) -> None:
    done = _pytest(target, f"servers/{SERVER}/tests/test_{SERVER}_contract.py")
    if done.returncode != 0:
        raise CheckFailed(f"pytest servers/{SERVER}/tests/test_{SERVER}_contract.py: {_summary(done)}")


def _own_test(
    target: Target,
    chapter: str,
    run: Callable[[], subprocess.CompletedProcess[str]] | None = None,
) -> None:
    """The chapter's own test exists, has a test function and passes (`run` runs it, if not pytest)."""
    name = f"servers/{SERVER}/tests/{OWN_TESTS[chapter]}"
    path = target.root / name
    if not path.is_file():
        raise CheckFailed(f"{name} does not exist")
    if not re.search(r"^(async )?def test_\w+", path.read_text(encoding="utf-8"), re.MULTILINE):
        raise CheckFailed(f"{name} has no test function (`def test_…` or `async def test_…`)")
    done = run() if run is not None else _pytest(target, name)
    if done.returncode != 0:
        raise CheckFailed(f"pytest {name}: {_summary(done)}")


def _scaffold_own_test(target: Target) -> None:
    _own_test(target, "06")


# -- 07 scopes and step-up -----------------------------------------------------------------------------

OWN_TESTS["07"] = "test_my_scopes.py"

# Run by the attendee's Python in a fresh process (their server changes between checks): the server's
# tools as tools/list gives them, in memory, to a caller with both scopes.
_LIST_TOOLS = """
import json, anyio
from mcp import Client
from fleet_core.testing import acting_as, identity, settings_for
from fleet_notes.backend import NotesClient
from fleet_notes.server import build_server
from fleet_notes.settings import NAME, NotesSettings

async def main():
    settings = settings_for(NotesSettings, name=NAME, url="http://127.0.0.1:9", token="t")
    async with NotesClient(settings) as backend:
        with acting_as(identity("alice", "notes:read notes:write", audience=settings.public_url)):
            async with Client(build_server(settings, backend)) as client:
                tools = (await client.list_tools()).tools
    print(json.dumps([t.model_dump(mode="json", by_alias=True) for t in tools]))

anyio.run(main)
"""


def _scopes_tool(target: Target) -> None:
    done = _python(target, "-c", _LIST_TOOLS)
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-2:])
        raise CheckFailed(f"building the notes server failed: {tail}")
    tools = {tool["name"]: tool for tool in json.loads(done.stdout.strip().splitlines()[-1])}
    tool = tools.get("delete_note")
    if tool is None:
        raise CheckFailed(f"the server's tools are {sorted(tools)}; no delete_note")
    properties = (tool.get("inputSchema") or {}).get("properties", {})
    if properties.get("note_id", {}).get("type") != "integer":
        raise CheckFailed(f"delete_note should take an integer `note_id`; its input schema: {properties}")
    scope = json.dumps(tool.get("_meta") or {})
    if f"{SERVER}:write" not in scope:
        raise CheckFailed(f"delete_note does not declare {SERVER}:write (its _meta: {scope})")
    hints = tool.get("annotations") or {}
    if hints.get("readOnlyHint") is not False or hints.get("destructiveHint") is not True:
        raise CheckFailed(f"delete_note's annotations should say it writes and destroys: {hints}")


def _scopes_contract(target: Target) -> None:
    checks = "scopes_and_annotations or readme_tools_table or read_caller_write_tool_403 or fast_path"
    done = _pytest(target, f"servers/{SERVER}/tests/test_{SERVER}_contract.py", "-k", checks)
    if done.returncode != 0:
        raise CheckFailed(f"the contract's scope checks: {_summary(done)}")


def _scopes_own_test(target: Target) -> None:
    _own_test(target, "07")


# -- 08 act as the caller --------------------------------------------------------------------------------

OWN_TESTS["08"] = "test_my_caller.py"

# In a fresh process: the attendee's server in jwt mode behind a throwaway AuthGate-shaped issuer, called
# by alice (sub: a UUID, extra_uid: alice), by the ci-bot client (no username claim; in the user map) and
# by another client (neither), each calling add_note with its own token over HTTP.
_ACT_AS = """
import json, anyio, httpx2
from fleet_core.testing import JwtIssuer, connect, serve_server, settings_for
from fleet_notes.backend import NotesClient
from fleet_notes.fake import FAKE_TOKEN, FakeNotes
from fleet_notes.server import build_server
from fleet_notes.settings import NAME, NotesSettings

async def main():
    fake, answers = FakeNotes(), {}
    async with JwtIssuer() as issuer:
        settings = settings_for(NotesSettings, name=NAME, trust_mode="jwt", issuer=issuer.url,
            url="http://fake.test", token=FAKE_TOKEN, user_map={"client:ci-bot": "ci-bot"})
        both = "notes:read notes:write"
        tokens = {
            "alice": issuer.mint(settings.public_url, scope=both),
            "ci-bot": issuer.mint(settings.public_url, scope=both, sub="client:ci-bot", extra_uid=None),
            "other": issuer.mint(settings.public_url, scope=both, sub="client:other", extra_uid=None),
        }
        backend = NotesClient(settings, transport=httpx2.ASGITransport(app=fake))
        async with backend, serve_server(build_server(settings, backend), settings) as url:
            for who, token in tokens.items():
                async with connect(url, token=token, secret=None) as client:
                    result = await client.call_tool("add_note", {"title": "from " + who})
                answers[who] = {"error": result.is_error, "content": result.structured_content,
                                "text": " ".join(getattr(c, "text", "") for c in result.content)}
    print(json.dumps({"answers": answers, "acted_as": fake.acted_as, "notes": fake.notes}))

anyio.run(main)
"""


def _script(target: Target, script: str, what: str) -> dict[str, Any]:
    done = _python(target, "-c", script, timeout=60)
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-2:])
        raise CheckFailed(f"{what} failed: {tail}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _caller_acts_as(target: Target) -> None:
    seen = _script(target, _ACT_AS, "calling the notes server with three tokens")
    answers = seen["answers"]
    for who in ("alice", "ci-bot"):
        answer = answers[who]
        owner = (answer["content"] or {}).get("owner")
        if answer["error"] or owner != who:
            said = answer["text"] if answer["error"] else f"a note owned by {owner!r}"
            raise CheckFailed(
                f"add_note with {who}'s token should make a note owned by {who!r}; it answered {said}"
            )
    other = answers["other"]
    if not other["error"]:
        raise CheckFailed(
            "a client with no username claim and no user map entry (client:other) could add a note: "
            f"{other['content']}"
        )
    if "USER_MAP" not in other["text"]:
        raise CheckFailed(f"client:other was refused, but not because it has no account: {other['text']}")
    if seen["acted_as"] != ["alice", "ci-bot"]:
        raise CheckFailed(f"the backend was asked to act as {seen['acted_as']}, not ['alice', 'ci-bot'] only")


def _caller_own_test(target: Target) -> None:
    _own_test(target, "08")


# -- 09 audit and error kinds ----------------------------------------------------------------------------

OWN_TESTS["09"] = "test_my_audit.py"

# In a fresh process, with the audit lines captured: alice's multi-line title (her mistake), a list with
# the backend unreachable (its failure), and bob (notes:read) calling delete_note over HTTP (a denial).
_KINDS = """
import json, anyio, httpx2
from mcp import Client
from fleet_core.testing import (MCP_HEADERS, TEST_SECRET, acting_as, call_body, capture_audit, identity,
    identity_headers, serve_server, settings_for)
from fleet_notes.backend import NotesClient
from fleet_notes.fake import FAKE_TOKEN, FakeNotes
from fleet_notes.server import build_server
from fleet_notes.settings import NAME, NotesSettings

SECRET = "my-bank-pin-4711"

async def main():
    fake, seen = FakeNotes(), {}
    settings = settings_for(NotesSettings, name=NAME, url="http://fake.test", token=FAKE_TOKEN)
    down = settings_for(NotesSettings, name=NAME, url="http://127.0.0.1:9", token=FAKE_TOKEN, max_retries=0)
    alice = identity("alice", "notes:read notes:write", audience=settings.public_url)
    bob = identity("bob", "notes:read", audience=settings.public_url)
    with capture_audit() as audit:
        async with NotesClient(settings, transport=httpx2.ASGITransport(app=fake)) as backend:
            mcp = build_server(settings, backend)
            with acting_as(alice):
                async with Client(mcp) as client:
                    mistake = await client.call_tool("add_note", {"title": SECRET + "\\nsecond line"})
            seen["mistake"] = {"error": mistake.is_error, "requests": fake.requests}
            headers = MCP_HEADERS | identity_headers(bob) | {"X-MCP-Gateway-Secret": TEST_SECRET}
            async with serve_server(mcp, settings) as url, httpx2.AsyncClient() as http:
                body = call_body("delete_note", {"note_id": 4711})
                seen["denied"] = {"status": (await http.post(url, json=body, headers=headers)).status_code}
        async with NotesClient(down) as backend:
            with acting_as(alice):
                async with Client(build_server(down, backend)) as client:
                    seen["down"] = {"error": (await client.call_tool("list_notes", {"limit": 3})).is_error}
    seen["lines"] = audit.lines
    seen["leaked"] = [line for line in audit.raw if SECRET in line or "4711" in line]
    print(json.dumps(seen))

anyio.run(main)
"""


def _audit_kinds(target: Target) -> None:
    seen = _script(target, _KINDS, "calling the notes server three ways")
    if not seen["mistake"]["error"]:
        raise CheckFailed("add_note with a title of two lines was accepted: it should be a tool error")
    if seen["mistake"]["requests"]:
        raise CheckFailed(
            "add_note with a title of two lines reached the backend: refuse it in ops.py, before"
        )
    outcomes = [(line.get("tool"), line.get("outcome")) for line in seen["lines"]]
    expected = [("add_note", "tool_error"), ("delete_note", "denied"), ("list_notes", "backend_error")]
    if outcomes != expected or seen["denied"]["status"] != 403 or not seen["down"]["error"]:
        raise CheckFailed(f"the audit lines say {outcomes}, not {expected}")
    if seen["leaked"]:
        raise CheckFailed(f"an audit line holds a raw argument: {seen['leaked'][0]}")


def _audit_own_test(target: Target) -> None:
    _own_test(target, "09")


# -- 10 monitor with Sentry ----------------------------------------------------------------------------

OWN_TESTS["10"] = "test_my_sentry.py"


@dataclass(frozen=True)
class _Reported:
    done: subprocess.CompletedProcess[str]
    events: list[dict[str, Any]]
    sent: str  # every byte the server sent to Sentry


def _sources_digest(target: Target) -> str:
    """The attendee's server and tests as they are now (a re-check after an edit runs the test again)."""
    files = sorted((target.root / "servers" / SERVER).rglob("*.py"))
    return hashlib.sha256(b"".join(p.read_bytes() for p in files if "__pycache__" not in p.parts)).hexdigest()


@functools.lru_cache(maxsize=4)
def _reported(root: Path, name: str, digest: str) -> _Reported:
    """Run the attendee's test once per version of their files, with its Sentry capture forwarding
    every envelope to one of the check's own (FLEET_SENTRY_INBOX): the three checks of chapter 10 read
    what the server really sent."""
    from fleet_core.testing import running_app
    from fleet_core.testing.sentry import FORWARD_ENV, SentryCapture

    inbox = SentryCapture()

    async def run() -> subprocess.CompletedProcess[bytes]:
        async with running_app(inbox) as base:
            forward = {FORWARD_ENV: f"http://public@{urlsplit(base).netloc}/1"}
            with anyio.fail_after(150):
                return await anyio.run_process(
                    [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", name],
                    cwd=root,
                    env={**os.environ, "PYTHONUNBUFFERED": "1", **forward},
                    check=False,
                )

    try:
        done = anyio.run(run)
    except TimeoutError as exc:
        raise CheckFailed(f"pytest {name} did not finish in 150 s") from exc
    text = subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")
    )
    return _Reported(text, inbox.events(), inbox.everything())


def _sentry_run(target: Target) -> _Reported:
    name = f"servers/{SERVER}/tests/{OWN_TESTS['10']}"
    return _reported(target.root, name, _sources_digest(target))


def _sentry_own_test(target: Target) -> None:
    _own_test(target, "10", run=lambda: _sentry_run(target).done)


def _sentry_reported(target: Target) -> None:
    events = [e for e in _sentry_run(target).events if (e.get("tags") or {}).get("fleet.server") == SERVER]
    if not events:
        raise CheckFailed(
            f"your test passes, but the {SERVER} server sent Sentry no event tagged fleet.server={SERVER}: "
            "does it call a tool that fails, on a server built with sentry.with_dsn(settings)?"
        )
    untagged = [e.get("tags") for e in events if not (e.get("tags") or {}).get("fleet.tool")]
    if untagged:
        raise CheckFailed(f"an event has no fleet.tool tag: its tags are {untagged[0]}")
    if not all((e.get("user") or {}).get("id") for e in events):
        raise CheckFailed("an event does not name the caller (user.id)")


def _sentry_nothing_private(target: Target) -> None:
    from fleet_core.testing import TEST_SECRET

    from .inbox import exposed

    run = _sentry_run(target)
    for event in run.events:
        arguments, secrets = exposed(event)
        if arguments or secrets:
            raise CheckFailed(f"an event holds {', '.join(arguments + secrets)}")
    if TEST_SECRET in run.sent:
        raise CheckFailed("the gateway secret (X-MCP-Gateway-Secret) is in what the server sent to Sentry")


# -- 11 the production front door: Kong + AuthGate --------------------------------------------------

OWN_TESTS["11"] = "test_my_gateway.py"


def _generated_in_sync(target: Target, files: tuple[str, ...] | None = None) -> None:
    """What `fleet gateway kong --check` says: the committed files are what fleet.toml generates."""
    from ..generate import check
    from ..manifest import load_manifest

    stale = [
        rel
        for rel in check(load_manifest(target.root / "fleet.toml"), target.root)
        if not files or rel in files
    ]
    if stale:
        raise CheckFailed(
            f"out of date with fleet.toml: {', '.join(stale)} (run `uv run fleet gateway kong`)"
        )


def _yaml(target: Target, rel: str) -> Any:
    import yaml

    path = target.root / rel
    if not path.is_file():
        raise CheckFailed(f"{rel} does not exist")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _kong_generated(target: Target) -> None:
    _generated_in_sync(target)


def _kong_route(target: Target) -> None:
    from ..generate import deck_secret_var
    from ..manifest import load_manifest

    manifest = load_manifest(target.root / "fleet.toml")
    server = manifest.server(SERVER)
    services = {s["name"]: s for s in _yaml(target, "gateway/kong.yml").get("services", [])}
    service = services.get(f"mcp-{SERVER}")
    if service is None:
        raise CheckFailed(f"gateway/kong.yml has no service mcp-{SERVER} (services: {', '.join(services)})")
    paths = [path for route in service.get("routes", []) for path in route.get("paths", [])]
    if paths != [server.path, server.prm_path]:
        raise CheckFailed(f"the mcp-{SERVER} route matches {paths}, not [{server.path}, {server.prm_path}]")
    plugins = {p["name"]: p.get("config", {}) for p in service.get("plugins", [])}
    oauth = plugins.get("mcp-oauth2", {})
    expected = {
        "audience": server.resource,
        "required_scopes": [server.read_scope],
        "upstream_auth_mode": manifest.gateway.upstream_auth_mode,
    }
    wrong = [f"{k} = {oauth.get(k)!r}" for k, v in expected.items() if oauth.get(k) != v]
    wrong += [
        k for k, v in oauth.items() if (k.startswith("skip_") or k == "debug_claims") and v is not False
    ]
    if wrong:
        raise CheckFailed(f"mcp-{SERVER}'s mcp-oauth2 config: {', '.join(wrong)}")
    headers = plugins.get("request-transformer", {}).get("add", {}).get("headers", [])
    if not any(deck_secret_var(server) in h for h in headers):
        raise CheckFailed(f"mcp-{SERVER} does not get its own gateway secret ({deck_secret_var(server)})")


def _kong_authgate(target: Target) -> None:
    from ..manifest import load_manifest

    server = load_manifest(target.root / "fleet.toml").server(SERVER)
    authgate = (target.root / "gateway" / "authgate.env.example").read_text(encoding="utf-8")
    if server.resource not in authgate:
        raise CheckFailed(f"gateway/authgate.env.example does not list the resource {server.resource}")
    init = _yaml(target, "compose.yaml")["services"]["authgate-init"]["environment"]
    clients = json.loads(init["FLEET_AUTHGATE_CLIENTS"])
    wrong = [
        c["name"]
        for c in clients
        if any(s.startswith(f"{SERVER}:") for s in c["scopes"]) and server.path not in c["resources"]
    ]
    if wrong or not clients:
        raise CheckFailed(f"AuthGate clients with a {SERVER} scope but not its resource: {', '.join(wrong)}")


def _kong_own_test(target: Target) -> None:
    _own_test(target, "11")


# -- 12 deploy with compose ---------------------------------------------------------------------------

OWN_TESTS["12"] = "test_my_deploy.py"
STACK_FILES = ("compose.yaml", "gateway/kong.compose.yml", ".env.example")


def _compose_generated(target: Target) -> None:
    _generated_in_sync(target, STACK_FILES)


def _compose_config(target: Target) -> None:
    from ..testing import ComposeRefused, compose_config, example_env

    env = example_env(target.root)
    try:
        stack = compose_config(target.root, env)
    except ComposeRefused as exc:
        raise CheckFailed(f"docker compose config refuses compose.yaml: {exc}") from exc
    service = stack["services"].get(f"mcp-{SERVER}")
    if service is None:
        raise CheckFailed(f"compose.yaml has no service mcp-{SERVER}")
    if "ports" in service or "mcp" not in service.get("networks", {}):
        raise CheckFailed(f"mcp-{SERVER} must be on the internal `mcp` network with no published port")
    secret = service.get("environment", {}).get(f"FLEET_{SERVER.upper()}_GATEWAY_SECRETS")
    if secret != env[f"FLEET_GATEWAY_SECRET_{SERVER.upper()}"]:
        raise CheckFailed(f"mcp-{SERVER} does not take its gateway secret from .env")


def _compose_own_test(target: Target) -> None:
    _own_test(target, "12")


# -- 13 editors and agents (bonus) ---------------------------------------------------------------------

OWN_TESTS["13"] = "test_my_editors.py"
# where each editor reads the servers of the folder it opens
EDITOR_FILES = {"vscode": ".vscode/mcp.json", "claude": ".mcp.json"}
_EDITOR_KEYS = {"vscode": "servers", "claude": "mcpServers"}

# Run by the attendee's Python: what `fleet-client config` generates now, for both editors.
_EDITOR_CONFIGS = """
import json
from fleet_client.config import load_config
from fleet_client.generate import mcp_json

config = load_config()
print(json.dumps({fmt: mcp_json(config, fmt) for fmt in ("vscode", "claude")}))
"""


def _editors_config(target: Target) -> None:
    done = _python(target, "-c", _EDITOR_CONFIGS)
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-2:])
        raise CheckFailed(f"`fleet-client config` failed: {tail}")
    generated = json.loads(done.stdout.strip().splitlines()[-1])
    for fmt, name in EDITOR_FILES.items():
        path = target.root / name
        if not path.is_file():
            raise CheckFailed(f"{name} does not exist")
        try:
            written = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise CheckFailed(f"{name} is not JSON: {exc}") from exc
        servers = written.get(_EDITOR_KEYS[fmt]) if isinstance(written, dict) else None
        if not isinstance(servers, dict) or f"fleet-{SERVER}" not in servers:
            raise CheckFailed(f"{name} lists no fleet-{SERVER} under {_EDITOR_KEYS[fmt]!r}")
        if written != generated[fmt]:
            raise CheckFailed(f"{name} is not what `fleet-client config --format {fmt}` prints now")


def _editors_own_test(target: Target) -> None:
    _own_test(target, "13")


CHECKS: dict[str, tuple[Check, ...]] = {
    "00": (Check("setup-doctor-saved", _doctor_saved), Check("setup-tools", _tools_now)),
    "01": (
        Check("hello-builds", _hello_builds),
        Check("hello-tool", _hello_tool),
        Check("hello-greets", _hello_greets),
        Check("hello-runs", _hello_runs),
    ),
    "02": (Check("http-legacy", _http_legacy), Check("http-current", _http_current)),
    "03": (
        Check("door-answered", _door_answered),
        Check("door-challenge", _door_challenge),
        Check("door-one-resource", _door_one_resource),
        Check("door-identity", _door_identity),
    ),
    "04": (
        Check("notes-builds", _notes_builds),
        Check("notes-tools", _notes_tools),
        Check("notes-as-caller", _notes_as_caller),
        Check("notes-scope", _notes_scope),
        Check("notes-forged", _notes_forged),
    ),
    "05": (
        Check("login-answers", _login_answers),
        Check("login-client-credentials", _login_client_credentials),
        Check("login-cimd", _login_cimd),
    ),
    "06": (
        Check("scaffold-registered", _scaffold_registered),
        Check("scaffold-contract", _scaffold_contract),
        Check("scaffold-own-test", _scaffold_own_test),
    ),
    "07": (
        Check("scopes-tool", _scopes_tool),
        Check("scopes-contract", _scopes_contract),
        Check("scopes-own-test", _scopes_own_test),
    ),
    "08": (Check("caller-acts-as", _caller_acts_as), Check("caller-own-test", _caller_own_test)),
    "09": (Check("audit-kinds", _audit_kinds), Check("audit-own-test", _audit_own_test)),
    "10": (
        Check("sentry-own-test", _sentry_own_test),
        Check("sentry-reported", _sentry_reported),
        Check("sentry-nothing-private", _sentry_nothing_private),
    ),
    "11": (
        Check("kong-generated", _kong_generated),
        Check("kong-route", _kong_route),
        Check("kong-authgate", _kong_authgate),
        Check("kong-own-test", _kong_own_test),
    ),
    "12": (
        Check("compose-generated", _compose_generated),
        Check("compose-config", _compose_config),
        Check("compose-own-test", _compose_own_test),
    ),
    "13": (
        Check("editors-config", _editors_config),
        Check("editors-own-test", _editors_own_test),
    ),
}
