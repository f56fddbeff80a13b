"""Writes against the real throwaway MediaWiki: attribution, tags, conflicts, protection, large pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

import anyio
import pytest

from fleet_core import BackendError, Identity, ToolError
from fleet_core.testing import settings_for
from fleet_wiki.backend import MediaWikiClient
from fleet_wiki.embedded import EmbeddedWiki
from fleet_wiki.ops import MARKER, Wiki

PAGE = "Intro line.\n\n== Alpha ==\nalpha text\n\n== Beta ==\nbeta text"


async def _current(client: MediaWikiClient, title: str) -> dict[str, object]:
    body = await client.get(
        action="query", titles=title, prop="revisions", rvprop="ids|user|comment|tags|content", rvslots="main"
    )
    rev = body["query"]["pages"][0]["revisions"][0]
    return {
        "id": rev["revid"],
        "user": rev["user"],
        "comment": rev["comment"],
        "tags": rev["tags"],
        "text": rev["slots"]["main"]["content"],
    }


async def test_create_page_names_the_caller_and_tags_the_edit(
    domain: Wiki, client: MediaWikiClient, alice: Identity, title: str
) -> None:
    with anyio.fail_after(20):
        result = await domain.create_page(alice, title, PAGE, "start the page")
        current = await _current(client, title)
    assert result.created
    assert result.revision_id == current["id"]
    assert current["user"] == "Fleetbot"
    assert current["comment"] == "start the page (for alice via fleet-wiki)"
    assert current["tags"] == ["fleet-mcp"]
    assert current["text"] == PAGE


async def test_create_page_refuses_an_existing_page(domain: Wiki, alice: Identity) -> None:
    with anyio.fail_after(20), pytest.raises(ToolError, match="already exists"):
        await domain.create_page(alice, "Onboarding", "overwrite!", "")


@pytest.mark.parametrize("bad", ["Bad [title]", "Curly {x}", "a|b", "<x>"])
async def test_create_page_bad_title_characters(domain: Wiki, alice: Identity, bad: str) -> None:
    with anyio.fail_after(20), pytest.raises(ToolError, match=r"not valid|invalid title"):
        await domain.create_page(alice, bad, "text", "")


async def test_caller_subject_cannot_inject_wiki_markup_into_the_summary(
    domain: Wiki, client: MediaWikiClient, title: str
) -> None:
    from fleet_core.testing import identity

    mallory = identity(
        "mallory]] [[Special:Evil|{{x}}", "wiki:write", audience="http://127.0.0.1:8700/mcp/wiki"
    )
    with anyio.fail_after(20):
        await domain.create_page(mallory, title, "x", "hi")
        current = await _current(client, title)
    assert "[[" not in str(current["comment"])
    assert "{{" not in str(current["comment"])
    assert "mallory__" in str(current["comment"])


async def test_edit_page_replaces_the_text_from_the_base_revision(
    domain: Wiki, client: MediaWikiClient, alice: Identity, title: str
) -> None:
    with anyio.fail_after(20):
        created = await domain.create_page(alice, title, PAGE, "")
        edited = await domain.edit_page(
            alice, title, "All new.", created.revision_id or 0, None, "rewrite", False
        )
        current = await _current(client, title)
        again = await domain.edit_page(alice, title, "All new.", edited.revision_id or 0, None, "same", False)
    assert current["text"] == "All new."
    assert current["tags"] == ["fleet-mcp"]
    assert edited.old_revision_id == created.revision_id
    assert again.no_change
    assert again.revision_id == edited.revision_id


async def test_edit_page_one_section(
    domain: Wiki, client: MediaWikiClient, alice: Identity, title: str
) -> None:
    with anyio.fail_after(20):
        created = await domain.create_page(alice, title, PAGE, "")
        await domain.edit_page(alice, title, "== Beta ==\nBETA", created.revision_id or 0, 2, "", False)
        current = await _current(client, title)
    assert current["text"] == "Intro line.\n\n== Alpha ==\nalpha text\n\n== Beta ==\nBETA"


async def test_edit_conflict_is_reported_and_nothing_is_overwritten(
    domain: Wiki, client: MediaWikiClient, admin: MediaWikiClient, alice: Identity, title: str
) -> None:
    with anyio.fail_after(20):
        created = await domain.create_page(alice, title, PAGE, "")
        # Someone else changes the same line after alice read revision `created`.
        await admin.post(
            action="edit", title=title, text=PAGE.replace("alpha text", "theirs"), summary="other"
        )
        with pytest.raises(ToolError, match=r"edit conflict.*Nothing was saved"):
            await domain.edit_page(
                alice, title, PAGE.replace("alpha text", "mine"), created.revision_id or 0, None, "", False
            )
        current = await _current(client, title)
    assert "theirs" in str(current["text"])
    assert "mine" not in str(current["text"])


async def test_edit_conflict_with_another_caller_through_the_same_bot(
    domain: Wiki, client: MediaWikiClient, alice: Identity, title: str
) -> None:
    """Every caller shares the bot account: MediaWiki must not treat this as a harmless self-conflict."""
    from fleet_core.testing import identity

    bob = identity("bob", "wiki:write", audience="http://127.0.0.1:8700/mcp/wiki")
    with anyio.fail_after(20):
        created = await domain.create_page(alice, title, PAGE, "")
        base = created.revision_id or 0
        await domain.edit_page(bob, title, PAGE.replace("alpha text", "bob's"), base, None, "", False)
        with pytest.raises(ToolError, match="edit conflict"):
            await domain.edit_page(alice, title, PAGE.replace("alpha text", "alice's"), base, None, "", False)
        current = await _current(client, title)
    assert "bob's" in str(current["text"])


async def test_concurrent_edit_elsewhere_is_merged_not_overwritten(
    domain: Wiki, client: MediaWikiClient, admin: MediaWikiClient, alice: Identity, title: str
) -> None:
    with anyio.fail_after(20):
        created = await domain.create_page(alice, title, PAGE, "")
        await admin.post(
            action="edit", title=title, text=PAGE.replace("beta text", "theirs"), summary="other"
        )
        await domain.edit_page(
            alice, title, PAGE.replace("alpha text", "mine"), created.revision_id or 0, None, "", False
        )
        current = await _current(client, title)
    assert "theirs" in str(current["text"])
    assert "mine" in str(current["text"])


async def test_edit_page_on_a_protected_page_is_refused(domain: Wiki, alice: Identity) -> None:
    with anyio.fail_after(20):
        page = await domain.get_page("Protected page", "wikitext", None, 0, None)
        with pytest.raises(ToolError, match="protected"):
            await domain.edit_page(alice, "Protected page", "vandalism", page.revision_id, None, "", False)


async def test_edit_page_base_revision_of_another_page_is_refused(domain: Wiki, alice: Identity) -> None:
    with anyio.fail_after(20):
        other = await domain.get_page("Deploy guide", "wikitext", None, 0, None)
        with pytest.raises(ToolError, match="belongs to 'Deploy guide'"):
            await domain.edit_page(alice, "Onboarding", "x", other.revision_id, None, "", False)


async def test_edit_page_missing_page_and_missing_revision(domain: Wiki, alice: Identity) -> None:
    with anyio.fail_after(20):
        with pytest.raises(ToolError, match="does not exist"):
            await domain.edit_page(alice, "Onboarding", "x", 9_999_999, None, "", False)


async def test_edit_page_bad_title(domain: Wiki, alice: Identity) -> None:
    with anyio.fail_after(20), pytest.raises(ToolError, match="title"):
        await domain.edit_page(alice, "Bad|title", "x", 1, None, "", False)


async def test_large_page_whole_edit_is_refused_so_unread_text_is_never_dropped(
    domain: Wiki, client: MediaWikiClient, alice: Identity
) -> None:
    with anyio.fail_after(20):
        first = await domain.get_page("Big page", "wikitext", None, 0, None)
        assert first.truncated
        unmarked = first.content.rsplit(f"\n{MARKER}", 1)[0]  # even with the marker stripped
        with pytest.raises(ToolError, match="more than get_page returns in one piece"):
            await domain.edit_page(alice, "Big page", unmarked, first.revision_id, None, "", False)
        with pytest.raises(ToolError, match="marker"):
            await domain.edit_page(alice, "Big page", first.content, first.revision_id, None, "", False)
        after = await _current(client, "Big page")
    assert after["id"] == first.revision_id


async def test_large_page_round_trip_through_sections(
    domain: Wiki, client: MediaWikiClient, alice: Identity, title: str
) -> None:
    """Copy the big page, edit one section deep inside it, and check every other byte survived."""
    with anyio.fail_after(60):
        original = str((await _current(client, "Big page"))["text"])
        created = await domain.create_page(alice, title, original, "copy")
        sections = await domain.list_sections(title)
        target = next(s for s in sections.sections if s.heading == "Part 33")
        part = await domain.get_page(title, "wikitext", target.index, 0, created.revision_id)
        assert not part.truncated
        new_part = part.content.replace("End of part 33.", "End of part 33, edited.")
        await domain.edit_page(alice, title, new_part, part.revision_id, target.index, "one section", False)
        appended = await domain.append_to_page(alice, title, "\nA closing line.", None, "append")
        after = str((await _current(client, title))["text"])
    assert after == original.replace("End of part 33.", "End of part 33, edited.") + "\nA closing line."
    assert appended.revision_id is not None


async def test_section_larger_than_the_cap_is_refused(
    domain: Wiki, client: MediaWikiClient, alice: Identity, title: str
) -> None:
    text = "Lead.\n\n== Huge ==\n" + "word " * 6000
    with anyio.fail_after(20):
        created = await domain.create_page(alice, title, text, "")
        with pytest.raises(ToolError, match="section 1 is"):
            await domain.edit_page(alice, title, "== Huge ==\nshort", created.revision_id or 0, 1, "", False)


async def test_append_to_page_and_to_a_section(
    domain: Wiki, client: MediaWikiClient, alice: Identity, title: str
) -> None:
    with anyio.fail_after(20):
        await domain.create_page(alice, title, PAGE, "")
        await domain.append_to_page(alice, title, "\nmore alpha", 1, "")
        await domain.append_to_page(alice, title, "\nthe end", None, "")
        current = await _current(client, title)
    assert current["text"] == PAGE.replace("alpha text", "alpha text\nmore alpha") + "\nthe end"
    assert current["tags"] == ["fleet-mcp"]
    assert "alice" in str(current["comment"])


async def test_append_to_missing_and_protected_pages(domain: Wiki, alice: Identity) -> None:
    with anyio.fail_after(20):
        with pytest.raises(ToolError, match="does not exist"):
            await domain.append_to_page(alice, "No such page", "x", None, "")
        with pytest.raises(ToolError, match="protected"):
            await domain.append_to_page(alice, "Protected page", "x", None, "")
        with pytest.raises(ToolError, match="title"):
            await domain.append_to_page(alice, "Bad [title]", "x", None, "")


async def test_move_page(domain: Wiki, client: MediaWikiClient, alice: Identity, title: str) -> None:
    with anyio.fail_after(20):
        await domain.create_page(alice, title, "movable", "")
        moved = await domain.move_page(alice, title, f"{title} renamed", "better name", True, True)
        old = await domain.get_page(title, "wikitext", None, 0, None)
        new = await _current(client, f"{title} renamed")
    assert moved.to_title == f"{title} renamed"
    assert moved.redirect_left
    assert old.content.startswith("#REDIRECT")
    assert new["text"] == "movable"


async def test_move_page_refusals(domain: Wiki, alice: Identity, title: str) -> None:
    with anyio.fail_after(20):
        with pytest.raises(ToolError, match="does not exist"):
            await domain.move_page(alice, "No such page", title, "", True, True)
        with pytest.raises(ToolError, match=r"protected|right"):
            await domain.move_page(alice, "Protected page", title, "", True, True)
        with pytest.raises(ToolError, match=r"not valid|invalid title"):
            await domain.move_page(alice, "Onboarding", "Bad [title]", "", True, True)


async def test_missing_change_tag_is_created_once(
    wiki: EmbeddedWiki, client: MediaWikiClient, alice: Identity, title: str
) -> None:
    domain = Wiki(client, max_bytes=20_000, change_tag="fleet-fresh-tag")
    with anyio.fail_after(20):
        await domain.create_page(alice, title, "tagged", "")
        current = await _current(client, title)
    assert current["tags"] == ["fleet-fresh-tag"]


async def test_change_tag_the_bot_may_not_create_is_a_clear_error(
    wiki: EmbeddedWiki, alice: Identity, title: str
) -> None:
    # The seeding account's BotPassword lacks the managechangetags grant.
    async with wiki.admin_client() as admin:
        domain = Wiki(admin, max_bytes=20_000, change_tag="never-created")
        with (
            anyio.fail_after(20),
            pytest.raises(BackendError, match=r"addChangeTag\.php --tag never-created"),
        ):
            await domain.create_page(alice, title, "x", "")


async def test_mapped_caller_is_credited_by_their_wiki_name(
    client: MediaWikiClient, alice: Identity, title: str
) -> None:
    accounts = settings_for(user_map={"alice": "Alice_Liddell"})
    domain = Wiki(
        client, max_bytes=20_000, change_tag="fleet-mcp", account_of=lambda w: accounts.account_of(w, "wiki")
    )
    mapped = replace(alice, account=accounts.account_for(alice.subject))  # as the gate resolves it
    with anyio.fail_after(20):
        await domain.create_page(mapped, title, "x", "hello")
        current = await _current(client, title)
    assert current["comment"] == "hello (for Alice_Liddell via fleet-wiki)"


@pytest.mark.parametrize("operation", ["create", "edit", "append", "move"])
async def test_unmapped_caller_may_not_write_when_only_mapped_users_act(
    domain: Wiki, client: MediaWikiClient, alice: Identity, title: str, operation: str
) -> None:
    from fleet_core.testing import identity

    with anyio.fail_after(20):
        created = await domain.create_page(alice, title, "original", "")
        accounts = settings_for(user_map={"alice": "Alice"}, account_source="user_map")
        strict = Wiki(
            client,
            max_bytes=20_000,
            change_tag="fleet-mcp",
            account_of=lambda w: accounts.account_of(w, "wiki"),
        )
        eve = identity("eve", "wiki:read wiki:write", audience="http://127.0.0.1:8700/mcp/wiki")
        eve = replace(eve, account=accounts.account_for(eve.subject))  # None: as the gate resolves it
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "create": lambda: strict.create_page(eve, f"{title} eve", "x", ""),
            "edit": lambda: strict.edit_page(
                eve, title, "eve was here", created.revision_id or 0, None, "", False
            ),
            "append": lambda: strict.append_to_page(eve, title, "eve", None, ""),
            "move": lambda: strict.move_page(eve, title, f"{title} eve", "", True, True),
        }
        with pytest.raises(ToolError, match="'eve' has no wiki account name: FLEET_USER_MAP has no entry"):
            await calls[operation]()
        current = await _current(client, title)
        assert (
            await strict.get_page(title, "wikitext", None, 0, None)
        ).content == "original"  # reads stay open
    assert current["id"] == created.revision_id
