"""Chapter 13: an editor finds notes behind the front door, and its config file holds no secret."""

from __future__ import annotations

from pathlib import Path

from fleet_client.config import load_config
from fleet_client.generate import mcp_json

REPO = Path(__file__).resolve().parents[3]  # servers/notes/tests/ -> the clone


# --8<-- [start:test]
def test_editors_reach_notes_through_the_gateway_and_get_no_secret() -> None:
    config = load_config({}, manifest=REPO / "fleet.toml")  # the clone's fleet.toml, no personal config
    notes = config.server("notes")
    assert notes.url == f"{config.gateway}/mcp/notes"  # the gateway's path, never the server's own port
    vscode = mcp_json(config, "vscode")["servers"]["fleet-notes"]
    claude = mcp_json(config, "claude")["mcpServers"]["fleet-notes"]
    # a URL and nothing else: no headers, no token. The editor signs in itself, with OAuth
    assert vscode == claude == {"type": "http", "url": notes.url}


# --8<-- [end:test]
