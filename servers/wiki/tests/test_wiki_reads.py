"""Read operations against the real throwaway MediaWiki (seeded by fleet_wiki.embedded)."""

from __future__ import annotations

import anyio
import pytest

from fleet_core import Identity, ToolError
from fleet_wiki.embedded import big_page_text
from fleet_wiki.ops import MARKER, Wiki, clip, html_to_text, window


async def test_search_pages_full_text_finds_words_with_a_plain_snippet(domain: Wiki) -> None:
    with anyio.fail_after(20):
        result = await domain.search_pages("deploy", "text", 10, None)
    assert {h.title for h in result.hits} == {"Deploy guide", "Onboarding"}  # a title and a body match
    assert result.total_hits == 2
    assert all("deploy" in h.snippet.lower() and "<span" not in h.snippet for h in result.hits)


async def test_search_pages_by_title_prefix(domain: Wiki) -> None:
    with anyio.fail_after(20):
        result = await domain.search_pages("Onboard", "prefix", 10, None)
    assert [h.title for h in result.hits] == ["Onboarding"]


async def test_search_pages_pages_through_results_with_a_cursor(
    domain: Wiki, alice: Identity, title: str
) -> None:
    with anyio.fail_after(20):
        for n in (1, 2):
            await domain.create_page(alice, f"{title} {n}", "the word zanzibarite appears here", "")
        # MediaWiki updates its search index after the response (a deferred update): poll.
        while (first := await domain.search_pages("zanzibarite", "text", 1, None)).total_hits != 2:  # noqa: ASYNC110
            await anyio.sleep(0.05)
        assert first.next_cursor is not None
        second = await domain.search_pages("zanzibarite", "text", 1, first.next_cursor)
    assert {first.hits[0].title, second.hits[0].title} == {f"{title} 1", f"{title} 2"}


async def test_search_pages_rejects_a_forged_cursor(domain: Wiki) -> None:
    with anyio.fail_after(20), pytest.raises(ToolError, match="invalid cursor"):
        await domain.search_pages("deploy", "text", 5, "not-a-cursor")


async def test_get_page_returns_wikitext_and_the_revision_to_edit_from(domain: Wiki) -> None:
    with anyio.fail_after(20):
        page = await domain.get_page("Onboarding", "wikitext", None, 0, None)
    assert page.content.startswith("Welcome to the team. Read the [[Deploy guide]]")
    assert "[[Category:Guides]]" in page.content
    assert page.revision_id > 0
    assert not page.truncated
    assert page.next_offset is None
    assert page.total_bytes == len(page.content.encode())


async def test_get_page_renders_plain_text(domain: Wiki) -> None:
    with anyio.fail_after(20):
        page = await domain.get_page("Onboarding", "text", None, 0, None)
    assert "Read the Deploy guide first." in page.content
    assert "[[" not in page.content
    assert "<" not in page.content


async def test_get_page_reads_one_section(domain: Wiki) -> None:
    with anyio.fail_after(20):
        page = await domain.get_page("Onboarding", "wikitext", 1, 0, None)
    assert page.content == "== Accounts ==\nAsk IT for a laptop and a Gitea account."


async def test_get_page_missing_page_is_a_clear_error(domain: Wiki) -> None:
    with anyio.fail_after(20), pytest.raises(ToolError, match="'No such page' does not exist"):
        await domain.get_page("No such page", "wikitext", None, 0, None)


async def test_get_page_missing_section_is_a_clear_error(domain: Wiki) -> None:
    with anyio.fail_after(20), pytest.raises(ToolError, match="no such section"):
        await domain.get_page("Onboarding", "wikitext", 42, 0, None)


@pytest.mark.parametrize("bad", ["Bad [title]", "Pipe|title", "Curly {{x}}", "<b>tag</b>"])
async def test_get_page_bad_title_characters_are_refused(domain: Wiki, bad: str) -> None:
    with anyio.fail_after(20), pytest.raises(ToolError, match="invalid title"):
        await domain.get_page(bad, "wikitext", None, 0, None)


@pytest.mark.parametrize("bad", ["", "   ", "tab\there", "nul\x00", "x" * 256])
async def test_titles_are_checked_before_reaching_the_wiki(domain: Wiki, bad: str) -> None:
    with anyio.fail_after(20), pytest.raises(ToolError, match="title"):
        await domain.get_page(bad, "wikitext", None, 0, None)


async def test_get_page_shows_protection(domain: Wiki) -> None:
    with anyio.fail_after(20):
        page = await domain.get_page("Protected page", "wikitext", None, 0, None)
    assert "edit=sysop" in page.protection
    assert page.content.startswith("This page is protected")


async def test_large_page_is_read_in_parts_that_add_up_exactly(domain: Wiki) -> None:
    expected = big_page_text()
    parts: list[str] = []
    offset, revision = 0, None
    with anyio.fail_after(60):
        while True:
            page = await domain.get_page("Big page", "wikitext", None, offset, revision)
            assert len(page.content.encode()) <= domain.cap + 400  # the cap, plus the markers
            body = page.content
            if offset:
                assert body.startswith(f"{MARKER} continued from byte {offset}")
                body = body.split("]\n", 1)[1]
            if page.next_offset is None:
                assert not page.truncated
                parts.append(body)
                break
            assert page.truncated
            assert f"{MARKER} truncated at byte {page.next_offset}" in body
            parts.append(body.rsplit(f"\n{MARKER}", 1)[0])
            offset, revision = page.next_offset, page.revision_id
    assert len(parts) > 3
    assert "".join(parts) == expected.strip()  # MediaWiki trims trailing whitespace on save


async def test_get_page_offset_must_be_a_character_boundary(domain: Wiki) -> None:
    with pytest.raises(ToolError, match="character boundary"):
        window("héllo", 2, 10)  # byte 2 is inside 'é'
    with anyio.fail_after(20), pytest.raises(ToolError, match="outside the text"):
        await domain.get_page("Onboarding", "wikitext", None, 10_000, None)


async def test_list_sections_gives_numbers_levels_and_sizes(domain: Wiki) -> None:
    with anyio.fail_after(20):
        listing = await domain.list_sections("Onboarding")
    assert [(s.index, s.level, s.heading) for s in listing.sections] == [
        (1, 2, "Accounts"),
        (2, 2, "Tools"),
        (3, 3, "Editors"),
    ]
    tools = listing.sections[1]
    assert tools.bytes is not None
    assert tools.byte_offset is not None
    assert tools.byte_offset + tools.bytes == listing.total_bytes  # includes its subsection


async def test_list_sections_missing_page(domain: Wiki) -> None:
    with anyio.fail_after(20), pytest.raises(ToolError, match="does not exist"):
        await domain.list_sections("No such page")


async def test_get_page_history_lists_revisions(domain: Wiki) -> None:
    with anyio.fail_after(20):
        history = await domain.get_page_history("Deploy guide", None)
    assert history.revisions[0].user == "Admin"
    assert history.revisions[0].comment == "seed"


async def test_get_page_history_missing_page(domain: Wiki) -> None:
    with anyio.fail_after(20), pytest.raises(ToolError, match="does not exist"):
        await domain.get_page_history("No such page", None)


async def test_get_revision_and_missing_revision(domain: Wiki) -> None:
    with anyio.fail_after(20):
        page = await domain.get_page("Deploy guide", "wikitext", None, 0, None)
        revision = await domain.get_revision(page.revision_id)
        assert revision.title == "Deploy guide"
        assert revision.content == page.content
        with pytest.raises(ToolError, match="does not exist"):
            await domain.get_revision(9_999_999)


async def test_get_revision_of_a_large_page_is_capped_with_a_marker(domain: Wiki) -> None:
    with anyio.fail_after(20):
        page = await domain.get_page("Big page", "wikitext", None, 0, None)
        revision = await domain.get_revision(page.revision_id)
    assert revision.truncated
    assert revision.total_bytes > domain.cap
    assert f"{MARKER} truncated at byte" in revision.content
    assert len(revision.content.encode()) < domain.cap + 400


async def test_compare_revisions_gives_a_unified_diff(domain: Wiki, alice: Identity, title: str) -> None:
    with anyio.fail_after(20):
        first = await domain.create_page(alice, title, "one\ntwo\n", "start")
        second = await domain.edit_page(alice, title, "one\n2\n", first.revision_id or 0, None, "", False)
        diff = await domain.compare_revisions(first.revision_id or 0, second.revision_id or 0)
        with pytest.raises(ToolError, match="does not exist"):
            await domain.compare_revisions(first.revision_id or 0, 9_999_999)
    assert "-two\n+2" in diff.diff


async def test_recent_changes_lists_edits_newest_first(domain: Wiki, alice: Identity, title: str) -> None:
    with anyio.fail_after(20):
        await domain.create_page(alice, title, "fresh", "new page")
        changes = await domain.recent_changes(5, 0, None)
    newest = changes.changes[0]
    assert newest.title == title
    assert newest.type == "new"
    assert "fleet-mcp" in newest.tags
    assert "alice" in newest.comment


async def test_category_members(domain: Wiki) -> None:
    with anyio.fail_after(20):
        members = await domain.category_members("Guides", 10, None)
        same = await domain.category_members("Category:Guides", 10, None)
        empty = await domain.category_members("No such category", 10, None)
    assert {p.title for p in members.pages} == {"Onboarding", "Deploy guide"}
    assert same.pages == members.pages
    assert empty.pages == []


async def test_category_members_bad_title(domain: Wiki) -> None:
    with anyio.fail_after(20), pytest.raises(ToolError, match="not valid"):
        await domain.category_members("Bad [cat]", 10, None)


async def test_what_links_here(domain: Wiki) -> None:
    with anyio.fail_after(20):
        links = await domain.what_links_here("Deploy guide", 10, None)
        nothing = await domain.what_links_here("No such page", 10, None)
    assert [p.title for p in links.pages] == ["Onboarding"]
    assert nothing.pages == []


async def test_what_links_here_bad_title(domain: Wiki) -> None:
    with anyio.fail_after(20), pytest.raises(ToolError, match="not valid"):
        await domain.what_links_here("Bad [title]", 10, None)


async def test_site_info(domain: Wiki) -> None:
    with anyio.fail_after(20):
        info = await domain.site_info(read_only=True)
    assert info.sitename == "Fleet Wiki"
    assert info.generator.startswith("MediaWiki 1.")
    assert info.bot_user == "Fleetbot"
    assert info.read_only
    assert info.change_tag == "fleet-mcp"


async def test_render_wikitext_to_plain_text_with_links_and_categories(domain: Wiki) -> None:
    with anyio.fail_after(20):
        rendered = await domain.render_wikitext("'''Bold''' see [[Onboarding]].\n[[Category:Demo]]", None)
    assert rendered.text == "Bold see Onboarding."
    assert rendered.links == ["Onboarding"]
    assert rendered.categories == ["Demo"]


async def test_render_wikitext_refuses_oversized_input(domain: Wiki) -> None:
    with anyio.fail_after(20), pytest.raises(ToolError, match="larger than"):
        await domain.render_wikitext("x" * (domain.cap + 1), None)


def test_html_to_text_drops_markup_styles_and_edit_links() -> None:
    html = (
        '<h2>Head<span class="mw-editsection">[<a>edit</a>]</span></h2><style>p{}</style>'
        "<p>A &amp; B<br>C</p><ul><li>one</li><li>two</li></ul>"
    )
    assert html_to_text(html) == "Head\n\nA & B\nC\n\n- one\n- two"


async def test_render_wikitext_output_is_capped_with_a_marker(domain: Wiki) -> None:
    wikitext = "\n\n".join(
        f"Paragraph {i} " + "word " * 40 for i in range(80)
    )  # ~17 kB in, fits the input cap
    with anyio.fail_after(20):
        rendered = await domain.render_wikitext(wikitext, None)
    assert rendered.truncated
    assert f"{MARKER} truncated at byte" in rendered.text
    assert len(rendered.text.encode()) < domain.cap // 2 + 200


def test_clip_marks_cut_comments() -> None:
    assert clip("short") == "short"
    assert clip("x" * 400) == "x" * 299 + "…"
