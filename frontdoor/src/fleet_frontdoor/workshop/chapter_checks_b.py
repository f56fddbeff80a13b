"""The checks of part B (chapters 06-13): the attendee's own server, which `fleet new` made in the
repo (servers/notes/), and the files generated from the fleet. The list of every chapter's checks is
`chapter_checks.CHECKS`."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio

from .chapter_checks_a import _python
from .checks import Check, CheckFailed, Target

__all__ = ["CHECKS"]


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
