"""The README's tools table names exactly the registered tools, with their scopes."""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import pytest
from mcp import Client

from fleet_core.testing import settings_for
from fleet_wiki.mediawiki import MediaWikiClient
from fleet_wiki.server import build_server
from fleet_wiki.settings import WikiSettings

README = Path(__file__).parents[1] / "README.md"


@pytest.mark.anyio
async def test_readme_tools_table_matches_the_server() -> None:
    rows = re.findall(r"^\| `(\w+)` \| .* \| (wiki:\w+) \| (yes|no) \|$", README.read_text(), re.MULTILINE)
    documented = {name: (scope, ro == "yes") for name, scope, ro in rows}
    settings = settings_for(
        WikiSettings, name="wiki", url="http://127.0.0.1:9", bot_username="B@x", bot_password="p"
    )
    async with MediaWikiClient("http://127.0.0.1:9", "B@x", "p") as backend:
        mcp = build_server(settings, backend)
        with anyio.fail_after(10):
            async with Client(mcp) as client:
                tools = (await client.list_tools()).tools
    registered = {
        t.name: ((t.meta or {}).get("fleet/scope"), bool(t.annotations and t.annotations.read_only_hint))
        for t in tools
    }
    assert documented == registered
