"""Structured tool results. Texts are capped; `truncated` / `next_offset` / `next_cursor` say so."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class SearchHit(BaseModel):
    title: str
    snippet: str = Field(default="", description="Plain-text excerpt around the match (full-text search).")
    size: int | None = Field(default=None, description="Page size in bytes.")
    timestamp: str | None = None


class SearchResult(BaseModel):
    query: str
    mode: Literal["text", "prefix"]
    total_hits: int | None = Field(default=None, description="Full-text matches in the whole wiki.")
    hits: list[SearchHit]
    next_cursor: str | None = Field(default=None, description="Pass as cursor for more results.")


class PageText(BaseModel):
    title: str
    page_id: int
    revision_id: int = Field(description="Revision shown; pass it back as base_revision_id to edit.")
    timestamp: str
    format: Literal["wikitext", "text"]
    section: int | None = Field(
        default=None, description="Section shown (0 = lead), or None for the whole page."
    )
    offset: int = Field(description="Byte offset of `content` in the full text.")
    total_bytes: int = Field(description="UTF-8 size of the full text (page or section).")
    content: str
    truncated: bool = Field(description="True if more text follows; `content` then ends with a marker.")
    next_offset: int | None = Field(
        default=None, description="Pass as offset (with revision_id) for the rest."
    )
    protection: list[str] = Field(default_factory=list, description="e.g. 'edit=sysop'.")


class Section(BaseModel):
    index: int = Field(description="Section number for get_page / edit_page (0 = lead, not listed).")
    level: int
    heading: str
    anchor: str
    byte_offset: int | None
    bytes: int | None = Field(description="Size of the section including its subsections.")


class SectionList(BaseModel):
    title: str
    revision_id: int
    total_bytes: int
    sections: list[Section]


class RevisionInfo(BaseModel):
    revision_id: int
    parent_id: int | None = None
    timestamp: str
    user: str | None
    comment: str
    size: int | None = None
    minor: bool = False
    tags: list[str] = Field(default_factory=list)


class PageHistory(BaseModel):
    title: str
    revisions: list[RevisionInfo]
    next_cursor: str | None = Field(default=None, description="Pass as cursor for older revisions.")


class Revision(RevisionInfo):
    title: str
    content: str
    total_bytes: int
    truncated: bool


class Comparison(BaseModel):
    title: str
    from_revision_id: int
    to_revision_id: int
    diff: str = Field(description="Unified diff of the wikitext ('' when identical).")
    truncated: bool


class RecentChange(BaseModel):
    type: str
    title: str
    revision_id: int | None
    old_revision_id: int | None
    user: str | None
    timestamp: str
    comment: str
    size_change: int | None
    tags: list[str] = Field(default_factory=list)


class RecentChanges(BaseModel):
    changes: list[RecentChange]
    next_cursor: str | None = None


class PageRef(BaseModel):
    title: str
    page_id: int
    namespace: int


class PageList(BaseModel):
    title: str = Field(description="The category or target page.")
    pages: list[PageRef]
    next_cursor: str | None = None


class SiteInfo(BaseModel):
    sitename: str
    generator: str
    main_page: str
    base_url: str
    language: str
    read_only: bool = Field(description="True if this server registers no write tools.")
    articles: int
    pages: int
    edits: int
    bot_user: str
    change_tag: str


class Rendered(BaseModel):
    text: str
    truncated: bool
    links: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)


class EditResult(BaseModel):
    title: str
    page_id: int
    revision_id: int | None = Field(description="The new revision (the current one if nothing changed).")
    old_revision_id: int | None = None
    created: bool = False
    no_change: bool = Field(default=False, description="The text was identical: nothing was saved.")
    summary: str
    tag: str


class MoveResult(BaseModel):
    from_title: str
    to_title: str
    redirect_left: bool
    talk_moved: bool
    summary: str
