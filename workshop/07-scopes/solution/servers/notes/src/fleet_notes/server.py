"""The MCP server: tool declarations only; the work is in ops.py (more tools: tools_<area>.py)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from fleet_core import READ_ONLY, caller, create_server, requires

from . import ops
from .backend import NotesClient
from .models import Note, NoteList
from .settings import NAME, NotesSettings

__all__ = ["build_server"]

INSTRUCTIONS = """notes: list and add notes, as the caller. Every call acts as you on the backend: you see
and add your own notes only."""

# Honest annotations (the contract checks them): adding changes the backend but removes nothing, and
# adding the same title again returns the one you have (the backend's rule), so a retry is safe.
ADD = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False)
# --8<-- [start:delete]
# Deleting removes data (destructive), and deleting the same note again changes nothing more: it is
# gone either way, so the answer is the same and a retry is safe (idempotent, like HTTP DELETE).
DELETE = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True, openWorldHint=False)
# --8<-- [end:delete]


def build_server(settings: NotesSettings, backend: NotesClient) -> MCPServer:
    mcp = create_server(NAME, instructions=INSTRUCTIONS)  # + audit, the crash guard and `whoami`
    read, write = requires(f"{NAME}:read"), requires(f"{NAME}:write")

    # --8<-- [start:account]
    def account(ctx: Context[Any, Any]) -> str:
        # The caller's backend account (user map / token claim / subject), or a ToolError: never the
        # service credential's own power.
        return settings.account_of(caller(ctx), NAME)
        # --8<-- [end:account]

    @mcp.tool(meta=read, annotations=READ_ONLY)
    async def list_notes(
        ctx: Context[Any, Any],
        limit: Annotated[int, Field(description="Most notes to return", ge=1, le=100)] = 20,
    ) -> NoteList:
        """Your notes, newest first."""
        return await ops.list_notes(backend, account(ctx), limit)

    @mcp.tool(meta=write, annotations=ADD)
    async def add_note(
        ctx: Context[Any, Any],
        title: Annotated[str, Field(description="What the note says", max_length=200)],
    ) -> Note:
        """Add a note as yourself (it is your account's); the same title again returns it."""
        return await ops.add_note(backend, account(ctx), title)

    # --8<-- [start:tool]
    @mcp.tool(meta=write, annotations=DELETE)
    async def delete_note(
        ctx: Context[Any, Any],
        note_id: Annotated[int, Field(description="The id of one of your notes", ge=1)],
    ) -> NoteList:
        """Delete one of your notes for good; returns your notes left (newest first)."""
        return await ops.delete_note(backend, account(ctx), note_id)
        # --8<-- [end:tool]

    return mcp
