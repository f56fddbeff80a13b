"""A whole fleet server in one file: the shape every server in servers/ follows, at toy size.

FLEET_NOTES_TRUST_MODE=insecure-dev uv run python core/examples/notes.py
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from fleet_core import (
    READ_ONLY,
    WRITE,
    ServerSettings,
    ToolError,
    build_app,
    caller,
    create_server,
    requires,
    serve,
)


# --8<-- [start:settings]
class NotesSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="FLEET_NOTES_", frozen=True)

    max_notes: int = Field(default=100, ge=1, description="Notes kept per user")


# --8<-- [end:settings]


class Notes(BaseModel):
    owner: str
    notes: list[str]


# --8<-- [start:server]
def build_server(settings: NotesSettings, store: dict[str, list[str]]) -> MCPServer:
    mcp = create_server("notes")  # MCPServer + audit + a `whoami` tool

    @mcp.tool(meta=requires("notes:read"), annotations=READ_ONLY)
    async def list_notes(ctx: Context[Any, Any]) -> Notes:
        """Your notes."""
        who = caller(ctx)  # the checked identity; never read headers yourself
        return Notes(owner=who.subject, notes=store.get(who.subject, []))

    @mcp.tool(meta=requires("notes:write"), annotations=WRITE)
    async def add_note(text: str, ctx: Context[Any, Any]) -> Notes:
        """Add a note as yourself."""
        who = caller(ctx)
        mine = store.setdefault(who.subject, [])
        if len(mine) >= settings.max_notes:
            raise ToolError(f"you already have {settings.max_notes} notes")
        mine.append(text)
        return Notes(owner=who.subject, notes=mine)

    return mcp


# --8<-- [end:server]


def main() -> None:
    # --8<-- [start:main]
    settings = NotesSettings()
    serve(build_app(build_server(settings, {}), settings), settings)
    # --8<-- [end:main]


if __name__ == "__main__":
    main()
