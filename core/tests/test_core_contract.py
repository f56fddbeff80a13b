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
from mcp.types import ToolAnnotations

from fleet_core import READ_ONLY, WRITE, caller, create_server, requires
from fleet_core.testing import settings_for
from fleet_core.testing.contract import CHECKS, Contract, check_server, readme_tools

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


def notes_server(
    *,
    list_meta: dict[str, Any] | None = None,
    add_annotations: ToolAnnotations | None = WRITE,
    chatty_whoami: bool = False,
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
            return text

        yield mcp

    return build


STDIO_MAIN = """
import sys
from fleet_core import stdio_caller
who = stdio_caller("notes", who="the notes owner")
sys.exit(0)
"""


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


def contract(tmp_path: Path, readme: str = README, stdio_main: str = STDIO_MAIN, **kwargs: Any) -> Contract:
    (tmp_path / "README.md").write_text(readme)
    (tmp_path / "notes_main.py").write_text(stdio_main)
    (tmp_path / "fleet.toml").write_text(MANIFEST)
    stdio = [sys.executable, str(tmp_path / "notes_main.py"), "--stdio"]
    return Contract(
        "notes",
        SETTINGS,
        notes_server(**kwargs),
        tmp_path / "README.md",
        stdio_command=stdio,
        manifest=tmp_path / "fleet.toml",
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
