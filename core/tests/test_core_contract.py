"""The shared contract suite passes a well-built server and catches each way of breaking it."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import Tool, ToolAnnotations

from fleet_core import READ_ONLY, WRITE, ToolError, caller, create_server, requires
from fleet_core.testing import settings_for
from fleet_core.testing.contract import CHECKS, Contract, check_server, example_arguments, readme_tools

SETTINGS = settings_for(name="notes")
README = """# notes

## Tools

3 tools.

| Tool | What it does | Scope | Read-only |
|---|---|---|---|
| `whoami` | who you are | notes:read | yes |
| `list_notes` | your notes | `notes:read` | yes |
| `add_note` | add one | notes:write | no (`destructiveHint` false) |

### Not a tools table

| `ghost` | outside the section | notes:read | yes |
"""


BACKEND: list[str] = []  # what the toy server's backend was asked to do, as whom


def notes_server(
    *,
    list_meta: dict[str, Any] | None = None,
    add_annotations: ToolAnnotations | None = WRITE,
    chatty_whoami: bool = False,
    account: str = "checked",  # "checked" first; "backend-first": after a backend request; "ignored"
    refuse_writes: bool = False,
) -> Callable[[], contextlib.AbstractAsyncContextManager[MCPServer]]:
    @contextlib.asynccontextmanager
    async def build() -> AsyncIterator[MCPServer]:
        mcp = create_server("notes")
        if chatty_whoami:  # a tool that logs its own raw arguments to the audit log
            mcp.remove_tool("whoami")

            @mcp.tool(meta=requires("notes:read"), annotations=READ_ONLY)
            async def whoami(ctx: Context[Any, Any], unexpected: str = "") -> str:
                """Who you are."""
                logging.getLogger("fleet.audit").info(json.dumps({"whoami": unexpected}))
                return caller(ctx).subject

        @mcp.tool(meta=list_meta or requires("notes:read"), annotations=READ_ONLY)
        async def list_notes(ctx: Context[Any, Any]) -> list[str]:
            """Your notes."""
            return [caller(ctx).subject]

        @mcp.tool(meta=requires("notes:write"), annotations=add_annotations)
        async def add_note(text: str, ctx: Context[Any, Any]) -> str:
            """Add a note."""
            who = caller(ctx)
            if account == "backend-first":
                BACKEND.append(f"add {text} for {who.subject}")
            name = who.subject if account == "ignored" else SETTINGS.account_of(who, "notes")
            if refuse_writes:
                raise ToolError("notes is read-only today")
            BACKEND.append(f"add {text} as {name}")
            return text

        yield mcp

    return build


# the toy server as a program: `--stdio`, or HTTP with /readyz up when its "backend" is (NOTES_BACKEND=up)
STDIO_MAIN = """
import contextlib, os
from typing import Any
from mcp.server.mcpserver import Context
from pydantic_settings import SettingsConfigDict
from fleet_core import WRITE, ServerSettings, Started, caller, create_server, requires, server_main

class NotesSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="FLEET_NOTES_")

def start(settings: NotesSettings, stack: contextlib.ExitStack) -> Started:
    mcp = create_server("notes")

    @mcp.tool(meta=requires("notes:write"), annotations=WRITE)
    async def add_note(text: str, ctx: Context[Any, Any]) -> str:
        \"\"\"Add a note.\"\"\"
        return settings.account_of(caller(ctx), "notes") + ": " + text

    async def ready() -> None:
        if os.environ.get("NOTES_BACKEND") != "up":
            raise RuntimeError("the notes backend is down")

    return mcp, ready

server_main("notes", NotesSettings, start, stdio_user="the notes owner")
"""


def dev_backend(
    env: dict[str, str],
) -> Callable[[Path], contextlib.AbstractAsyncContextManager[dict[str, str]]]:
    @contextlib.asynccontextmanager
    async def hook(workdir: Path) -> AsyncIterator[dict[str, str]]:
        yield env

    return hook


MANIFEST = """
[gateway]
origin = "http://127.0.0.1:8700"

[issuer]
url = "http://127.0.0.1:8701"

[[servers]]
name = "notes"
upstream = "http://127.0.0.1:8719"
scopes = ["notes:read", "notes:write"]
description = "the contract's toy server"

[[dev.users]]
name = "alice"
teams = ["platform"]
scopes = ["notes:read", "notes:write"]

[[clients]]
client_id = "fleet-client"
name = "fleet sample client"
type = "public"
redirect_uris = ["http://127.0.0.1/callback"]
grant_types = ["authorization_code", "refresh_token"]
"""


def contract(
    tmp_path: Path,
    readme: str = README,
    stdio_main: str = STDIO_MAIN,
    *,
    dev_env: dict[str, str] | None = None,
    **kwargs: Any,
) -> Contract:
    (tmp_path / "README.md").write_text(readme)
    (tmp_path / "notes_main.py").write_text(stdio_main)
    (tmp_path / "fleet.toml").write_text(MANIFEST)
    program = [sys.executable, str(tmp_path / "notes_main.py")]
    return Contract(
        "notes",
        SETTINGS,
        notes_server(**kwargs),
        tmp_path / "README.md",
        stdio_command=[*program, "--stdio"],
        manifest=tmp_path / "fleet.toml",
        write_call=("add_note", {"text": "hello"}),
        backend_requests=lambda: len(BACKEND),
        command=program,
        dev_backend=dev_backend({"NOTES_BACKEND": "up"} if dev_env is None else dev_env),
    )


@pytest.mark.parametrize("check", CHECKS)
async def test_a_well_built_server_passes_every_check(check: str, tmp_path: Path) -> None:
    await check_server(contract(tmp_path), check)


def test_the_readme_table_is_read_from_the_tools_section_only(tmp_path: Path) -> None:
    assert readme_tools(contract(tmp_path).readme) == {
        "whoami": ("notes:read", True),
        "list_notes": ("notes:read", True),
        "add_note": ("notes:write", False),
    }


@pytest.mark.parametrize(
    "readme",
    [
        README.replace("| `add_note` | add one | notes:write | no (`destructiveHint` false) |\n", ""),
        README.replace("`notes:read` | yes", "`notes:write` | yes"),
        README.replace("3 tools", "4 tools"),
    ],
    ids=["tool-missing", "scope-wrong", "count-wrong"],
)
async def test_a_readme_that_disagrees_with_tools_list_fails(readme: str, tmp_path: Path) -> None:
    with pytest.raises(AssertionError):
        await check_server(contract(tmp_path, readme), "readme_tools_table")


async def test_a_write_tool_that_claims_to_be_read_only_fails(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="readOnlyHint=True but the scope is notes:write"):
        await check_server(contract(tmp_path, add_annotations=READ_ONLY), "scopes_and_annotations")


async def test_a_tool_without_annotations_fails(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="add_note: no annotations"):
        await check_server(contract(tmp_path, add_annotations=None), "scopes_and_annotations")


async def test_half_set_annotations_fail(tmp_path: Path) -> None:
    vague = ToolAnnotations(readOnlyHint=False)
    with pytest.raises(AssertionError, match="leave destructiveHint, idempotentHint, openWorldHint unset"):
        await check_server(contract(tmp_path, add_annotations=vague), "scopes_and_annotations")


async def test_another_servers_scope_fails(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="scope 'db:read' is neither notes:read nor notes:write"):
        await check_server(contract(tmp_path, list_meta=requires("db:read")), "scopes_and_annotations")


async def test_settings_not_made_for_the_contract_are_refused(tmp_path: Path) -> None:
    c = contract(tmp_path)
    other = Contract("notes", settings_for(name="other"), c.build, c.readme)
    with pytest.raises(AssertionError, match="/mcp/other"):
        await check_server(other, "whoami_over_http")


async def test_a_tool_that_logs_its_arguments_to_the_audit_log_fails(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="whoami: 2 audit lines"):
        await check_server(contract(tmp_path, chatty_whoami=True), "audit_line_per_call")


@pytest.mark.parametrize(
    "stdio_main",
    ["print('serving as nobody in particular')", "import os\nos.environ['FLEET_NOTES_STDIO_USER']"],
    ids=["starts-without-a-user", "traceback"],
)
async def test_a_stdio_server_that_guesses_or_crashes_without_its_user_fails(
    stdio_main: str, tmp_path: Path
) -> None:
    with pytest.raises(AssertionError):
        await check_server(contract(tmp_path, stdio_main=stdio_main), "stdio_names_its_missing_user")


@pytest.mark.parametrize("account", ["ignored", "backend-first"])
async def test_a_write_for_a_caller_without_an_account_fails(account: str, tmp_path: Path) -> None:
    """Acting as the bare subject, or asking the backend before checking the account: both fail."""
    message = "did not refuse" if account == "ignored" else "the backend got 1 request"
    with pytest.raises(AssertionError, match=message):
        await check_server(contract(tmp_path, account=account), "unmapped_caller_refused")


async def test_a_write_token_that_cannot_write_fails(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="alice's write token could not write with add_note"):
        await check_server(contract(tmp_path, refuse_writes=True), "front_door_read_and_step_up")


async def test_a_stdio_server_that_lets_its_user_write_by_default_fails(tmp_path: Path) -> None:
    generous = STDIO_MAIN.replace(
        "server_main(", "os.environ['FLEET_NOTES_STDIO_SCOPES'] = 'notes:read notes:write'\nserver_main("
    )
    with pytest.raises(AssertionError, match="write tools a read-only stdio user could call"):
        await check_server(contract(tmp_path, stdio_main=generous), "stdio_serves_its_user")


async def test_a_stdio_server_that_acts_as_someone_else_fails(tmp_path: Path) -> None:
    other = STDIO_MAIN.replace("server_main(", "os.environ['FLEET_NOTES_STDIO_USER'] = 'root'\nserver_main(")
    with pytest.raises(AssertionError, match="contract-stdio-user"):
        await check_server(contract(tmp_path, stdio_main=other), "stdio_serves_its_user")


async def test_a_dev_hook_that_leaves_the_backend_down_fails(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"/readyz answered \[503"):
        await check_server(contract(tmp_path, dev_env={}), "dev_backend_ready")


def test_example_arguments_satisfy_the_input_schema() -> None:
    tool = Tool(
        name="t",
        input_schema={
            "type": "object",
            "required": ["n", "s", "when", "kind", "tags", "opt", "confirm"],
            "properties": {
                "n": {"type": "integer", "minimum": 3},
                "s": {"type": "string", "minLength": 12},
                "when": {"type": "string", "format": "date"},
                "kind": {"enum": ["a", "b"]},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "opt": {"anyOf": [{"type": "null"}, {"type": "boolean"}]},
                "confirm": {"type": "boolean", "default": False},
                "free": {"type": "string"},
            },
        },
    )
    args = example_arguments(tool)
    assert args == {
        "n": 3,
        "s": "contractcontract",
        "when": "2026-01-01",
        "kind": "a",
        "tags": ["contract"],
        "opt": False,
        "confirm": True,
    }
    assert example_arguments(tool, {"t": {"n": 9}}) == {"n": 9}
