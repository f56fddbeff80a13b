"""The README's tools table is tools/list: same names, same scopes, same read-only flag, same count."""

from __future__ import annotations

import pathlib
import re
from typing import Any

import pytest
from mcp import Client

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.anyio
async def test_readme_tools_table_matches_tools_list(mcp: Any) -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Tools", 1)[1].split("### ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| .+ \| `(sentry:read|sentry:write)` \| (yes|no) \|$", section, re.M)
    documented = {name: (scope, flag) for name, scope, flag in rows}
    async with Client(mcp) as session:
        tools = (await session.list_tools()).tools
    listed = {
        t.name: (
            (t.meta or {})["fleet/scope"],
            "yes" if t.annotations and t.annotations.read_only_hint else "no",
        )
        for t in tools
    }
    assert documented == listed
    assert f"{len(listed)} tools" in text
