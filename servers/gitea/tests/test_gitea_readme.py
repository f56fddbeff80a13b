"""The README's tools table is the registered tool list: same names, same scopes, same read-only flag."""

from __future__ import annotations

import pathlib
import re

from fleet_core._scopes import tool_scopes
from fleet_gitea.gitea import GiteaClient
from fleet_gitea.server import build_server
from fleet_gitea.testing import gitea_settings

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_tools_table_matches_the_server() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Tools", 1)[1].split("### ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| [^|]+ \| (gitea:read|gitea:write) \| (yes|no) \|$", section, re.M)
    documented = {name: (scope, flag) for name, scope, flag in rows}
    mcp = build_server(gitea_settings("http://127.0.0.1:1"), GiteaClient("http://127.0.0.1:1", "t"))
    registered = {
        name: (scope, "yes" if scope == "gitea:read" else "no") for name, scope in tool_scopes(mcp).items()
    }
    assert documented == registered
    assert f"{len(registered)} tools" in text
