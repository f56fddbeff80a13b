"""The wiki MCP server: tool declarations only; the work is in ops.py."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from fleet_core import READ_ONLY, WRITE, caller, create_server, requires

from . import models as m
from .backend import MediaWikiClient
from .ops import Wiki
from .settings import WikiSettings

__all__ = ["build_server"]

INSTRUCTIONS = """MediaWiki: search, read and edit the internal wiki. Edits are saved by the wiki's bot
account, name you in the summary and carry a change tag. Read a page before editing it and pass its
revision_id as base_revision_id: a concurrent change is reported, never overwritten. Large pages come
in parts (offset / next_offset); edit them one section at a time (list_sections)."""

# Reads of a wiki the server was configured for: closed world, safe to repeat.
READ = READ_ONLY
# Saving the same text again is a no-op in MediaWiki ("nochange"), so an edit is idempotent.
EDIT = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True, openWorldHint=False)
APPEND = WRITE  # adds text each time: not idempotent, never removes anything
CREATE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False)
MOVE = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=False, openWorldHint=False)

Title = Annotated[
    str, Field(description="Page title, e.g. 'Deploy guide' or 'Help:Contents'", max_length=255)
]
Limit = Annotated[int, Field(description="Most results to return", ge=1, le=50)]
Cursor = Annotated[str | None, Field(description="next_cursor from the previous result, for more")]
Summary = Annotated[str, Field(description="What the change does (your name is added)", max_length=300)]
Section = Annotated[
    int | None, Field(description="Section number from list_sections (0 = lead); omit for all", ge=0)
]


def build_server(settings: WikiSettings, backend: MediaWikiClient) -> MCPServer:
    mcp = create_server("wiki", instructions=INSTRUCTIONS)
    wiki = Wiki(
        backend,
        max_bytes=settings.max_output_bytes,
        change_tag=settings.change_tag,
        account_of=lambda who: settings.account_of(who, "wiki"),
    )
    read, write = requires("wiki:read"), requires("wiki:write")

    @mcp.tool(meta=read, annotations=READ)
    async def search_pages(
        query: Annotated[
            str, Field(description="Words to find (text) or the start of a title (prefix)", max_length=300)
        ],
        mode: Annotated[
            Literal["text", "prefix"], Field(description="'text': full-text; 'prefix': title prefix")
        ] = "text",
        limit: Limit = 10,
        cursor: Cursor = None,
    ) -> m.SearchResult:
        """Search the wiki: full text (with snippets) or titles starting with a prefix."""
        return await wiki.search_pages(query, mode, limit, cursor)

    @mcp.tool(meta=read, annotations=READ)
    async def get_page(
        title: Title,
        format: Annotated[
            Literal["wikitext", "text"], Field(description="'wikitext' source or rendered plain 'text'")
        ] = "wikitext",
        section: Section = None,
        offset: Annotated[int, Field(description="Byte offset: next_offset of the previous part", ge=0)] = 0,
        revision_id: Annotated[
            int | None, Field(description="Read this revision (default: current)", ge=1)
        ] = None,
    ) -> m.PageText:
        """Read a page (or one section), capped: a large page comes in parts via offset/next_offset."""
        return await wiki.get_page(title, format, section, offset, revision_id)

    @mcp.tool(meta=read, annotations=READ)
    async def list_sections(title: Title) -> m.SectionList:
        """A page's sections: number, heading, level and size, to read or edit one section."""
        return await wiki.list_sections(title)

    @mcp.tool(meta=read, annotations=READ)
    async def get_page_history(title: Title, cursor: Cursor = None) -> m.PageHistory:
        """A page's revisions, newest first (20 per call)."""
        return await wiki.get_page_history(title, cursor)

    @mcp.tool(meta=read, annotations=READ)
    async def get_revision(revision_id: Annotated[int, Field(description="Revision id", ge=1)]) -> m.Revision:
        """One revision: who, when, summary, tags and its wikitext (capped)."""
        return await wiki.get_revision(revision_id)

    @mcp.tool(meta=read, annotations=READ)
    async def compare_revisions(
        from_revision_id: Annotated[int, Field(description="Older revision id", ge=1)],
        to_revision_id: Annotated[int, Field(description="Newer revision id", ge=1)],
    ) -> m.Comparison:
        """Unified diff of the wikitext of two revisions."""
        return await wiki.compare_revisions(from_revision_id, to_revision_id)

    @mcp.tool(meta=read, annotations=READ)
    async def recent_changes(
        limit: Limit = 20,
        namespace: Annotated[
            int | None, Field(description="Only this namespace (0 = articles)", ge=0)
        ] = None,
        cursor: Cursor = None,
    ) -> m.RecentChanges:
        """Latest edits, page creations and log actions across the wiki, newest first."""
        return await wiki.recent_changes(limit, namespace, cursor)

    @mcp.tool(meta=read, annotations=READ)
    async def category_members(
        category: Annotated[
            str, Field(description="Category name, with or without 'Category:'", max_length=255)
        ],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> m.PageList:
        """Pages and subcategories in a category."""
        return await wiki.category_members(category, limit, cursor)

    @mcp.tool(meta=read, annotations=READ)
    async def what_links_here(title: Title, limit: Limit = 50, cursor: Cursor = None) -> m.PageList:
        """Pages that link to a page."""
        return await wiki.what_links_here(title, limit, cursor)

    @mcp.tool(meta=read, annotations=READ)
    async def site_info() -> m.SiteInfo:
        """The wiki's name, version, main page, size, and this server's bot account and change tag."""
        return await wiki.site_info(settings.read_only)

    @mcp.tool(meta=read, annotations=READ)
    async def render_wikitext(
        wikitext: Annotated[str, Field(description="Wikitext to render (preview; nothing is saved)")],
        title: Annotated[
            str | None, Field(description="Page title to render as (for relative links)")
        ] = None,
    ) -> m.Rendered:
        """Render wikitext as plain text, with the links and categories it contains. Saves nothing."""
        return await wiki.render_wikitext(wikitext, title)

    if settings.read_only:
        return mcp

    @mcp.tool(meta=write, annotations=CREATE)
    async def create_page(
        ctx: Context[Any, Any],
        title: Title,
        text: Annotated[str, Field(description="Wikitext")],
        summary: Summary = "",
    ) -> m.EditResult:
        """Create a new page; refused if it already exists."""
        return await wiki.create_page(caller(ctx), title, text, summary)

    @mcp.tool(meta=write, annotations=EDIT)
    async def edit_page(
        ctx: Context[Any, Any],
        title: Title,
        text: Annotated[
            str, Field(description="New wikitext of the page, or of the section (with its heading)")
        ],
        base_revision_id: Annotated[
            int, Field(description="revision_id you read (get_page): conflict check", ge=1)
        ],
        section: Section = None,
        summary: Summary = "",
        minor: Annotated[bool, Field(description="Mark as a minor edit")] = False,
    ) -> m.EditResult:
        """Replace a page's text, or one section's. Changes made since base_revision_id are merged or
        reported as a conflict, never overwritten. Pages or sections bigger than the read cap must be
        edited in smaller sections."""
        return await wiki.edit_page(caller(ctx), title, text, base_revision_id, section, summary, minor)

    @mcp.tool(meta=write, annotations=APPEND)
    async def append_to_page(
        ctx: Context[Any, Any],
        title: Title,
        text: Annotated[str, Field(description="Wikitext to add at the end (start it with a newline)")],
        section: Section = None,
        summary: Summary = "",
    ) -> m.EditResult:
        """Add text at the end of an existing page or section, without reading or resending the rest."""
        return await wiki.append_to_page(caller(ctx), title, text, section, summary)

    @mcp.tool(meta=write, annotations=MOVE)
    async def move_page(
        ctx: Context[Any, Any],
        from_title: Title,
        to_title: Title,
        reason: Summary = "",
        leave_redirect: Annotated[bool, Field(description="Leave a redirect at the old title")] = True,
        move_talk: Annotated[bool, Field(description="Move the talk page too")] = True,
    ) -> m.MoveResult:
        """Rename a page (its history moves with it)."""
        return await wiki.move_page(caller(ctx), from_title, to_title, reason, leave_redirect, move_talk)

    return mcp
