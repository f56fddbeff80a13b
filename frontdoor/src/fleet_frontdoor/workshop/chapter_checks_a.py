"""The checks of part A (chapters 00-05): the attendee's files in workshop/work/ and the fleet of
the repo. The list of every chapter's checks is `chapter_checks.CHECKS`."""

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
}
