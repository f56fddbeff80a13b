"""`fleet dev` hook: a throwaway MediaWiki under the dev workdir (see embedded.py)."""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import AsyncIterator

from .embedded import embedded_wiki


@contextlib.asynccontextmanager
async def backend(workdir: pathlib.Path) -> AsyncIterator[dict[str, str]]:
    """Start the wiki (raises DevBackendUnavailable without PHP/MediaWiki); yield the server's env."""
    async with embedded_wiki(workdir / "wiki") as wiki:
        yield {
            "FLEET_WIKI_URL": wiki.url,
            "FLEET_WIKI_BOT_USERNAME": wiki.bot_username,
            "FLEET_WIKI_BOT_PASSWORD": wiki.bot_password,
        }
