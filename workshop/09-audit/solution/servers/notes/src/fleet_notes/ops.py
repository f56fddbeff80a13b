"""What each tool does, as plain functions of the backend client and the caller's account: no MCP here,
so they are easy to test and to grow (more areas: ops_<area>.py)."""

from __future__ import annotations

from fleet_core import ToolError

from .backend import NotesClient
from .models import Note, NoteList

__all__ = ["add_note", "delete_note", "list_notes"]


async def list_notes(backend: NotesClient, account: str, limit: int) -> NoteList:
    found = await backend.list_notes(account)
    newest = sorted(found, key=lambda entry: entry.id, reverse=True)
    return NoteList(account=account, notes=newest[:limit], truncated=len(newest) > limit)


async def add_note(backend: NotesClient, account: str, title: str) -> Note:
    title = title.strip()
    if not title:
        raise ToolError("title is empty: say what the note is")
    if "\n" in title or "\r" in title:  # the caller's mistake: a ToolError, and the backend never sees it
        raise ToolError("title is one line: put the rest in a note of its own")
    return await backend.add_note(account, title)


async def delete_note(backend: NotesClient, account: str, note_id: int) -> NoteList:
    await backend.delete_note(account, note_id)
    return await list_notes(backend, account, 20)
