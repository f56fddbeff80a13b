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
    ServerSettings,
    build_app,
    create_server,
    requires,
    serve,
)


class NotesSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="FLEET_NOTES_", frozen=True)

    max_notes: int = Field(default=100, ge=1, description="Notes kept per user")


class Notes(BaseModel):
    owner: str
    notes: list[str]


def build_server(settings: NotesSettings, store: dict[str, list[str]]) -> MCPServer:
    mcp = create_server("notes")  # MCPServer + audit + a `whoami` tool

    @mcp.tool(meta=requires("notes:read"), annotations=READ_ONLY)
    async def list_notes(ctx: Context[Any, Any]) -> Notes:
        """Your notes."""
        # TODO: this believes a header anyone can send; ask the core who is calling (README step 1)
        subject = (ctx.headers or {}).get("x-mcp-subject", "nobody")
        return Notes(owner=subject, notes=store.get(subject, []))

    # TODO: add `add_note(text)`, which needs notes:write and adds a note as the caller (README step 2)

    return mcp


def main() -> None:
    settings = NotesSettings()
    serve(build_app(build_server(settings, {}), settings), settings)


if __name__ == "__main__":
    main()
