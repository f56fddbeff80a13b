"""One throwaway MediaWiki for the whole session (about 2-3 s to install, start and seed)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from anyio.from_thread import start_blocking_portal

from fleet_core import Identity
from fleet_core.testing import identity
from fleet_wiki.backend import MediaWikiClient
from fleet_wiki.embedded import EmbeddedWiki, embedded_wiki
from fleet_wiki.ops import Wiki

AUDIENCE = "http://127.0.0.1:8700/mcp/wiki"
CAP = 20_000  # small output cap so the seeded "Big page" (~120 kB) needs several parts


@pytest.fixture(scope="session")
def wiki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedWiki]:
    # The session fixture can't share the tests' per-test event loops: run the wiki's
    # lifecycle in a portal thread of its own.
    workdir = tmp_path_factory.mktemp("mediawiki")
    with (
        start_blocking_portal(backend="asyncio") as portal,
        portal.wrap_async_context_manager(embedded_wiki(workdir)) as w,
    ):
        yield w


@pytest.fixture
async def client(wiki: EmbeddedWiki) -> AsyncIterator[MediaWikiClient]:
    async with wiki.client(timeout=10) as c:
        yield c


@pytest.fixture
async def admin(wiki: EmbeddedWiki) -> AsyncIterator[MediaWikiClient]:
    """Another wiki user (the seeding admin), for concurrent edits."""
    async with wiki.admin_client() as c:
        yield c


@pytest.fixture
def domain(client: MediaWikiClient, wiki: EmbeddedWiki) -> Wiki:
    return Wiki(client, max_bytes=CAP, change_tag="fleet-mcp")


@pytest.fixture
def alice() -> Identity:
    return identity("alice", "wiki:read wiki:write", audience=AUDIENCE)


@pytest.fixture
def title() -> str:
    """A fresh page title per test (the wiki is shared by the session)."""
    return f"Test page {uuid.uuid4().hex[:8]}"
