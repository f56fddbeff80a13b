"""Domain operations: what each tool does, over one MediaWikiClient, with the server's caps and tag."""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import re
import unicodedata
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any, Literal

from fleet_core import BackendError, Identity, ToolError

from . import models as m
from .backend import MediaWikiClient, WikiApiError, page_path

__all__ = ["MARKER", "Wiki", "html_to_text"]

# Every marker this server puts into returned text starts with MARKER; a write containing it is
# text read in parts and pasted back, which would lose what it stands for (PWiki #536): refused.
MARKER = "[fleet-wiki:"
_OVERHEAD = 1_024  # bytes of a result reserved for metadata around the capped text
# Lists stay under the default cap: ≤ 50 items with ≤ 300-char comments and snippets.
_CLIP_CHARS = 300
_MAX_NAMES = 50

_REFUSALS = {
    "protectedpage": "the page is protected; the wiki's bot account may not edit it",
    "cascadeprotected": "the page is protected (cascading); the wiki's bot account may not edit it",
    "protectedtitle": "that title is protected from creation",
    "permissiondenied": "the wiki's bot account lacks the right to do this",
    "articleexists": "the page already exists: read it with get_page and use edit_page",
    "missingtitle": "the page does not exist",
    "invalidtitle": "the title is not valid on this wiki",
    "invalidcategory": "the category name is not valid",
    "nosuchrevid": "no such revision",
    "rvnosuchsection": "the page has no such section (see list_sections)",
    "nosuchsection": "the page has no such section (see list_sections)",
    "selfmove": "the source and target titles are the same",
    "tags-apply-not-allowed-one": "the change tag is not defined on the wiki",
    "readonly": "the wiki is in read-only mode",
    "blocked": "the wiki's bot account is blocked",
}


def _refusal(exc: WikiApiError, what: str) -> ToolError:
    reason = _REFUSALS.get(exc.code, exc.info or exc.code)
    return ToolError(f"{what}: {reason} ({exc.code})")


def clip(text: str, limit: int = _CLIP_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise ToolError("title must not be empty")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in title):
        raise ToolError("title contains control characters")
    if "|" in title:  # never valid in a title, and the API's list separator
        raise ToolError(f"invalid title {title!r}: '|' is not allowed in titles")
    if len(title.encode()) > 255:
        raise ToolError("title is longer than 255 bytes")
    return title


def _encode_cursor(cont: dict[str, Any] | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(cont).encode()).decode() if cont else None


def _decode_cursor(cursor: str | None) -> dict[str, str | int] | None:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error) as exc:
        raise ToolError("invalid cursor: pass next_cursor from a previous result unchanged") from exc
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int) for k, v in value.items()
    ):
        raise ToolError("invalid cursor: pass next_cursor from a previous result unchanged")
    return value


def window(text: str, offset: int, cap: int) -> tuple[str, int, int | None]:
    """The UTF-8 byte window [offset, offset+cap) cut at character boundaries: (text, total, next_offset)."""
    data = text.encode()
    total = len(data)
    if offset < 0 or offset > total:
        raise ToolError(f"offset {offset} is outside the text (0..{total})")
    if offset < total and (data[offset] & 0xC0) == 0x80:
        raise ToolError("offset is not at a character boundary: pass next_offset from a previous result")
    end = min(total, offset + cap)
    while end < total and (data[end] & 0xC0) == 0x80:
        end -= 1
    return data[offset:end].decode(), total, (end if end < total else None)


def cap_text(text: str, cap: int, hint: str) -> tuple[str, int, bool]:
    chunk, total, nxt = window(text, 0, cap)
    if nxt is None:
        return chunk, total, False
    return f"{chunk}\n{MARKER} truncated at byte {nxt} of {total}; {hint}]", total, True


class _TextExtractor(HTMLParser):
    _SKIP = frozenset({"style", "script"})
    _BLOCK = frozenset(
        {
            "p",
            "div",
            "br",
            "li",
            "tr",
            "table",
            "pre",
            "dd",
            "dt",
            "ul",
            "ol",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
        }
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = dict(attrs).get("class") or ""
        if tag in self._SKIP or "mw-editsection" in classes or self._skip:
            self._skip += tag not in ("br",)  # void elements never close
            return
        if tag in self._BLOCK:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")
        if tag in ("td", "th"):
            self.parts.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            self._skip -= 1
            return
        if tag in self._BLOCK and tag not in ("li", "dd", "dt", "tr"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _own_account(who: Identity) -> str:
    if who.account is None:
        raise ToolError(f"{who.subject!r} has no wiki account name, so this server may not edit for them")
    return who.account


def _safe_name(name: str) -> str:
    # The name lands in an edit summary, which MediaWiki renders: no link or template syntax.
    return re.sub(r"[^A-Za-z0-9._@:+-]", "_", name)[:80]


class Wiki:
    """The wiki as the tools see it: reads capped at `max_bytes`, writes tagged and attributed."""

    def __init__(
        self,
        client: MediaWikiClient,
        *,
        max_bytes: int,
        change_tag: str,
        account_of: Callable[[Identity], str] | None = None,
    ) -> None:
        self.client = client
        self.cap = max(max_bytes - _OVERHEAD, 256)
        self.tag = change_tag
        # the settings' account_of: the caller's wiki user, or a ToolError saying why there is none
        self.account_of = account_of or _own_account
        self._tag_ready = False

    # -- reads ------------------------------------------------------------------------------------

    async def _page_meta(self, title: str | None, revision_id: int | None) -> dict[str, Any]:
        """Page + one revision's ids/timestamp/size; raises a clear ToolError when missing/invalid."""
        params: dict[str, Any] = {
            "prop": "info|revisions",
            "inprop": "protection",
            "rvprop": "ids|timestamp|size",
        }
        if revision_id is not None:
            params["revids"] = revision_id
        else:
            params["titles"] = check_title(title or "")
        try:
            body = await self.client.get(action="query", **params)
        except WikiApiError as exc:
            raise _refusal(exc, "cannot read the page") from exc
        query = body.get("query", {})
        if query.get("badrevids"):
            raise ToolError(f"revision {revision_id} does not exist")
        page: dict[str, Any] = (query.get("pages") or [{}])[0]
        if page.get("invalid"):
            raise ToolError(
                f"invalid title {title!r}: {page.get('invalidreason', 'not allowed by the wiki')}"
            )
        if page.get("missing"):
            raise ToolError(f"page {page.get('title', title)!r} does not exist")
        if title is not None and revision_id is not None and not _same_title(page["title"], title):
            raise ToolError(f"revision {revision_id} belongs to {page['title']!r}, not {title!r}")
        return page

    async def get_page(
        self,
        title: str,
        fmt: Literal["wikitext", "text"],
        section: int | None,
        offset: int,
        revision_id: int | None,
    ) -> m.PageText:
        page = await self._page_meta(title, revision_id)
        rev = page["revisions"][0]
        try:
            if fmt == "wikitext":
                body = await self.client.get(
                    action="query",
                    revids=rev["revid"],
                    prop="revisions",
                    rvprop="content",
                    rvslots="main",
                    rvsection=section,
                )
                slot = body["query"]["pages"][0]["revisions"][0]["slots"]["main"]
                if slot.get("nosuchsection"):
                    raise WikiApiError("nosuchsection", f"no section {section}")
                text = slot.get("content", "")
            else:
                body = await self.client.get(
                    action="parse",
                    oldid=rev["revid"],
                    prop="text",
                    section=section,
                    disableeditsection=True,
                    disablelimitreport=True,
                    disabletoc=True,
                )
                text = html_to_text(body["parse"]["text"])
        except WikiApiError as exc:
            raise _refusal(exc, f"cannot read {page['title']!r}") from exc
        chunk, total, nxt = window(text, offset, self.cap)
        if offset:
            chunk = f"{MARKER} continued from byte {offset} of {total}]\n{chunk}"
        if nxt is not None:
            chunk += (
                f"\n{MARKER} truncated at byte {nxt} of {total}; call get_page with offset={nxt} and "
                f"revision_id={rev['revid']} for the rest. Never write this text back whole: edit by section]"
            )
        return m.PageText(
            title=page["title"],
            page_id=page["pageid"],
            revision_id=rev["revid"],
            timestamp=rev["timestamp"],
            format=fmt,
            section=section,
            offset=offset,
            total_bytes=total,
            content=chunk,
            truncated=nxt is not None,
            next_offset=nxt,
            protection=[f"{p['type']}={p['level']}" for p in page.get("protection", [])],
        )

    async def list_sections(self, title: str) -> m.SectionList:
        page = await self._page_meta(title, None)
        rev = page["revisions"][0]
        body = await self.client.get(action="parse", oldid=rev["revid"], prop="sections")
        raw = [
            s for s in body["parse"]["sections"] if s.get("byteoffset") is not None and s["index"].isdigit()
        ]
        total = rev.get("size", page.get("length", 0))
        sections = []
        for i, s in enumerate(raw):
            end = next((t["byteoffset"] for t in raw[i + 1 :] if int(t["level"]) <= int(s["level"])), total)
            sections.append(
                m.Section(
                    index=int(s["index"]),
                    level=int(s["level"]),
                    heading=html_to_text(s["line"]),
                    anchor=s["anchor"],
                    byte_offset=s["byteoffset"],
                    bytes=end - s["byteoffset"],
                )
            )
        return m.SectionList(
            title=page["title"], revision_id=rev["revid"], total_bytes=total, sections=sections
        )

    async def search_pages(
        self, query: str, mode: Literal["text", "prefix"], limit: int, cursor: str | None
    ) -> m.SearchResult:
        if not query.strip():
            raise ToolError("query must not be empty")
        cont = _decode_cursor(cursor)
        if mode == "text":
            body = await self.client.get(
                action="query",
                list="search",
                srsearch=query,
                srwhat="text",  # without it, SQLite-backed wikis search titles only
                srlimit=limit,
                srprop="snippet|size|timestamp",
                srinfo="totalhits",
                **(cont or {}),
            )
            hits = [
                m.SearchHit(
                    title=h["title"],
                    snippet=clip(html_to_text(h.get("snippet", ""))),
                    size=h.get("size"),
                    timestamp=h.get("timestamp"),
                )
                for h in body.get("query", {}).get("search", [])
            ]
            total = body.get("query", {}).get("searchinfo", {}).get("totalhits")
            nxt = body.get("continue")
            return m.SearchResult(
                query=query, mode=mode, total_hits=total, hits=hits, next_cursor=_encode_cursor(nxt)
            )
        items, nxt = await self.client.query_list(
            "prefixsearch", limit, cont, list="prefixsearch", pssearch=query, pslimit=limit
        )
        hits = [m.SearchHit(title=h["title"]) for h in items]
        return m.SearchResult(query=query, mode=mode, hits=hits, next_cursor=_encode_cursor(nxt))

    async def get_page_history(self, title: str, cursor: str | None) -> m.PageHistory:
        title = check_title(title)
        older = None
        if cursor:
            if not cursor.isdigit():
                raise ToolError("invalid cursor: pass next_cursor from a previous result unchanged")
            older = int(cursor)
        try:
            body = await self.client.rest_get(f"v1/page/{page_path(title)}/history", older_than=older)
        except WikiApiError as exc:
            if exc.code in ("rest-nonexistent-title", "404"):
                raise ToolError(f"page {title!r} does not exist") from exc
            raise _refusal(exc, f"cannot read the history of {title!r}") from exc
        revs = [
            m.RevisionInfo(
                revision_id=r["id"],
                timestamp=r["timestamp"],
                user=(r.get("user") or {}).get("name"),
                comment=clip(r.get("comment") or ""),
                size=r.get("size"),
                minor=bool(r.get("minor")),
            )
            for r in body.get("revisions", [])
        ]
        match = re.search(r"older_than=(\d+)", body.get("older") or "")
        return m.PageHistory(title=title, revisions=revs, next_cursor=match.group(1) if match else None)

    async def _revisions(self, *revision_ids: int) -> dict[int, dict[str, Any]]:
        body = await self.client.get(
            action="query",
            revids="|".join(map(str, revision_ids)),
            prop="revisions",
            rvslots="main",
            rvprop="ids|timestamp|user|comment|size|content|tags|flags",
        )
        bad = body.get("query", {}).get("badrevids")
        if bad:
            raise ToolError(f"revision {', '.join(str(b) for b in bad)} does not exist")
        found: dict[int, dict[str, Any]] = {}
        for page in body["query"]["pages"]:
            for rev in page.get("revisions", []):
                found[rev["revid"]] = rev | {"title": page["title"]}
        return found

    async def get_revision(self, revision_id: int) -> m.Revision:
        rev = (await self._revisions(revision_id))[revision_id]
        hint = f"call get_page with revision_id={revision_id} and an offset for the rest"
        content, total, truncated = cap_text(rev["slots"]["main"].get("content", ""), self.cap, hint)
        return m.Revision(
            revision_id=rev["revid"],
            parent_id=rev.get("parentid"),
            timestamp=rev["timestamp"],
            user=rev.get("user"),
            comment=rev.get("comment", ""),
            size=rev.get("size"),
            minor=bool(rev.get("minor")),
            tags=rev.get("tags", []),
            title=rev["title"],
            content=content,
            total_bytes=total,
            truncated=truncated,
        )

    async def compare_revisions(self, from_revision_id: int, to_revision_id: int) -> m.Comparison:
        revs = await self._revisions(from_revision_id, to_revision_id)
        old, new = revs[from_revision_id], revs[to_revision_id]
        lines = difflib.unified_diff(
            old["slots"]["main"].get("content", "").splitlines(),
            new["slots"]["main"].get("content", "").splitlines(),
            f"{old['title']}@{from_revision_id}",
            f"{new['title']}@{to_revision_id}",
            lineterm="",
            n=2,
        )
        diff, _, truncated = cap_text("\n".join(lines), self.cap, "compare smaller revision steps")
        return m.Comparison(
            title=new["title"],
            from_revision_id=from_revision_id,
            to_revision_id=to_revision_id,
            diff=diff,
            truncated=truncated,
        )

    async def recent_changes(self, limit: int, namespace: int | None, cursor: str | None) -> m.RecentChanges:
        items, nxt = await self.client.query_list(
            "recentchanges",
            limit,
            _decode_cursor(cursor),
            list="recentchanges",
            rclimit=limit,
            rctype="edit|new|log",
            rcprop="title|ids|user|timestamp|comment|sizes|tags|loginfo",
            rcnamespace=namespace,
        )
        changes = [
            m.RecentChange(
                type=c["type"],
                title=c["title"],
                revision_id=c.get("revid") or None,
                old_revision_id=c.get("old_revid") or None,
                user=c.get("user"),
                timestamp=c["timestamp"],
                comment=clip(c.get("comment", "")),
                tags=c.get("tags", []),
                size_change=(c["newlen"] - c["oldlen"]) if "newlen" in c and "oldlen" in c else None,
            )
            for c in items
        ]
        return m.RecentChanges(changes=changes, next_cursor=_encode_cursor(nxt))

    async def category_members(self, category: str, limit: int, cursor: str | None) -> m.PageList:
        category = check_title(category)
        if not category.lower().startswith("category:"):
            category = f"Category:{category}"
        try:
            items, nxt = await self.client.query_list(
                "categorymembers",
                limit,
                _decode_cursor(cursor),
                list="categorymembers",
                cmtitle=category,
                cmlimit=limit,
                cmprop="ids|title",
            )
        except WikiApiError as exc:
            raise _refusal(exc, f"cannot list {category!r}") from exc
        pages = [m.PageRef(title=p["title"], page_id=p["pageid"], namespace=p["ns"]) for p in items]
        return m.PageList(title=category, pages=pages, next_cursor=_encode_cursor(nxt))

    async def what_links_here(self, title: str, limit: int, cursor: str | None) -> m.PageList:
        title = check_title(title)
        try:
            items, nxt = await self.client.query_list(
                "backlinks",
                limit,
                _decode_cursor(cursor),
                list="backlinks",
                bltitle=title,
                bllimit=limit,
            )
        except WikiApiError as exc:
            raise _refusal(exc, f"cannot list links to {title!r}") from exc
        pages = [m.PageRef(title=p["title"], page_id=p["pageid"], namespace=p["ns"]) for p in items]
        return m.PageList(title=title, pages=pages, next_cursor=_encode_cursor(nxt))

    async def site_info(self, read_only: bool) -> m.SiteInfo:
        body = await self.client.get(action="query", meta="siteinfo|userinfo", siprop="general|statistics")
        general, stats = body["query"]["general"], body["query"]["statistics"]
        return m.SiteInfo(
            sitename=general["sitename"],
            generator=general["generator"],
            main_page=general["mainpage"],
            base_url=general["base"],
            language=general["lang"],
            read_only=read_only,
            articles=stats["articles"],
            pages=stats["pages"],
            edits=stats["edits"],
            bot_user=body["query"]["userinfo"]["name"],
            change_tag=self.tag,
        )

    async def render_wikitext(self, wikitext: str, title: str | None) -> m.Rendered:
        if len(wikitext.encode()) > self.cap:
            raise ToolError(f"wikitext is larger than {self.cap} bytes")
        body = await self.client.read_post(
            action="parse",
            text=wikitext,
            title=check_title(title) if title else "API",
            contentmodel="wikitext",
            prop="text|links|categories",
            disableeditsection=True,
            disablelimitreport=True,
            disabletoc=True,
        )
        parse = body["parse"]
        # Half the cap for the text: the link and category names share the result.
        text, _, truncated = cap_text(
            html_to_text(parse["text"]), self.cap // 2, "render less wikitext at once"
        )
        return m.Rendered(
            text=text,
            truncated=truncated,
            links=[ln["title"] for ln in parse.get("links", [])][:_MAX_NAMES],
            categories=[c["category"] for c in parse.get("categories", [])][:_MAX_NAMES],
        )

    # -- writes -----------------------------------------------------------------------------------

    def caller_name(self, who: Identity) -> str:
        """The name an edit is attributed to: the caller's account name (refused when there is none)."""
        return _safe_name(self.account_of(who))

    def _summary(self, who: Identity, summary: str) -> str:
        name = self.caller_name(who)
        summary = " ".join(summary.split())[:300]
        return f"{summary} (for {name} via fleet-wiki)" if summary else f"by {name} via fleet-wiki"

    @staticmethod
    def _check_text(text: str) -> None:
        if MARKER in text:
            raise ToolError(
                f"the text contains a {MARKER} …] marker: it was read in parts or truncated, "
                "and writing it back would lose the rest. Edit one section (edit_page with section=N) "
                "or append instead"
            )

    async def ensure_tag(self) -> None:
        """Make sure the change tag exists (create it once if the bot may); cached after success."""
        if self._tag_ready:
            return
        tags, _ = await self.client.query_list(
            "tags", 5000, None, list="tags", tgprop="defined|active", tglimit="max"
        )
        if any(t["name"] == self.tag and t.get("defined") and t.get("active") for t in tags):
            self._tag_ready = True
            return
        try:
            await self.client.post(
                action="managetags",
                operation="create",
                tag=self.tag,
                reason="Edits made through fleet-wiki (MCP)",
            )
        except WikiApiError as exc:
            if exc.code != "tags-create-already-exists":
                raise BackendError(
                    f"the change tag {self.tag!r} does not exist and the bot may not create it ({exc.code}); "
                    f"create it once: php maintenance/addChangeTag.php --tag {self.tag} "
                    "--reason 'Edits made through fleet-wiki'"
                ) from exc
        self._tag_ready = True

    async def _save(self, what: str, **params: Any) -> dict[str, Any]:
        await self.ensure_tag()
        try:
            body = await self.client.post(action="edit", tags=self.tag, **params)
        except WikiApiError as exc:
            if exc.code == "editconflict":
                raise ToolError(
                    f"edit conflict: {params['title']!r} changed since revision {params.get('baserevid')} "
                    "and the changes overlap. Nothing was saved: read the page again (get_page) "
                    "and redo the edit"
                ) from exc
            raise _refusal(exc, what) from exc
        edit: dict[str, Any] = body.get("edit", {})
        if edit.get("result") != "Success":
            raise ToolError(
                f"{what}: the wiki did not save the edit ({edit.get('result', 'unknown result')})"
            )
        if edit.get("nochange"):  # nothing saved: report the page's current revision
            edit["newrevid"] = (await self._page_meta(edit["title"], None))["lastrevid"]
        return edit

    def _edit_result(self, edit: dict[str, Any], summary: str, created: bool = False) -> m.EditResult:
        return m.EditResult(
            title=edit["title"],
            page_id=edit["pageid"],
            revision_id=edit.get("newrevid") or edit.get("oldrevid"),
            old_revision_id=edit.get("oldrevid") or None,
            created=created,
            no_change=bool(edit.get("nochange")),
            summary=summary,
            tag=self.tag,
        )

    async def create_page(self, who: Identity, title: str, text: str, summary: str) -> m.EditResult:
        title = check_title(title)
        self._check_text(text)
        full = self._summary(who, summary)
        edit = await self._save(
            f"cannot create {title!r}", title=title, text=text, summary=full, createonly=True
        )
        return self._edit_result(edit, full, created=True)

    async def edit_page(
        self,
        who: Identity,
        title: str,
        text: str,
        base_revision_id: int,
        section: int | None,
        summary: str,
        minor: bool,
    ) -> m.EditResult:
        title = check_title(title)
        self._check_text(text)
        full = self._summary(who, summary)  # first: an unmapped caller is refused before any request
        page = await self._page_meta(title, base_revision_id)
        base = page["revisions"][0]
        size = base.get("size", 0)
        if section is not None:
            got = await self.get_page(title, "wikitext", section, 0, base_revision_id)
            size = got.total_bytes
        if size > self.cap:
            part = "the page" if section is None else f"section {section}"
            raise ToolError(
                f"{part} is {size} bytes, more than get_page returns in one piece ({self.cap}): "
                "replacing it whole could drop text you never saw. "
                "Edit a smaller section (list_sections) or use append_to_page"
            )
        # baserevid without basetimestamp: every caller shares the bot account, and MediaWiki only
        # suppresses "conflicts with yourself" when basetimestamp is given (EditPage::internalAttemptSave).
        edit = await self._save(
            f"cannot edit {title!r}",
            title=page["title"],
            text=text,
            section=section,
            baserevid=base_revision_id,
            starttimestamp=base["timestamp"],
            nocreate=True,
            summary=full,
            minor=minor,
            notminor=not minor,
        )
        return self._edit_result(edit, full)

    async def append_to_page(
        self, who: Identity, title: str, text: str, section: int | None, summary: str
    ) -> m.EditResult:
        title = check_title(title)
        self._check_text(text)
        full = self._summary(who, summary)
        edit = await self._save(
            f"cannot append to {title!r}",
            title=title,
            appendtext=text,
            section=section,
            nocreate=True,
            summary=full,
        )
        return self._edit_result(edit, full)

    async def move_page(
        self,
        who: Identity,
        from_title: str,
        to_title: str,
        reason: str,
        leave_redirect: bool,
        move_talk: bool,
    ) -> m.MoveResult:
        from_title, to_title = check_title(from_title), check_title(to_title)
        full = self._summary(who, reason)
        await self.ensure_tag()
        try:
            body = await self.client.post(
                action="move",
                **{"from": from_title},
                to=to_title,
                reason=full,
                noredirect=not leave_redirect,
                movetalk=move_talk,
                tags=self.tag,
            )
        except WikiApiError as exc:
            raise _refusal(exc, f"cannot move {from_title!r} to {to_title!r}") from exc
        move = body["move"]
        return m.MoveResult(
            from_title=move["from"],
            to_title=move["to"],
            redirect_left=bool(move.get("redirectcreated")),
            talk_moved="talkto" in move,
            summary=full,
        )


def _same_title(a: str, b: str) -> bool:
    def norm(t: str) -> str:
        t = t.replace("_", " ").strip()
        return t[:1].upper() + t[1:]

    return norm(a) == norm(b)
