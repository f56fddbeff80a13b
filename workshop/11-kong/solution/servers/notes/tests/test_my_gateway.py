"""My replay of the gateway's validation matrix (workshop chapter 11): the front door, here the dev
gateway with the dev authorization server, refuses for notes what Kong's mcp-oauth2 plugin refuses."""

from __future__ import annotations

from pathlib import Path

from mcp.server.mcpserver import MCPServer

from fleet_core import build_app
from fleet_core.testing.matrix import replay_matrix
from fleet_frontdoor.testing import front_door
from fleet_notes.settings import NotesSettings


# --8<-- [start:test]
async def test_the_front_door_holds_the_matrix_for_notes(
    tmp_path: Path, mcp: MCPServer, settings: NotesSettings
) -> None:
    async with front_door(tmp_path, ["notes", "gitea"]) as door:
        served = NotesSettings.model_validate(settings.model_dump() | door.server_settings("notes"))
        async with door.upstream("notes", build_app(mcp, served)):
            m = await replay_matrix(
                door.resource("notes"),
                token=await door.token("alice", "notes:read"),
                token_without_scope=await door.token("alice", "notes:write"),
                token_for_another_resource=await door.token("alice", "gitea:read"),
            )
    assert m.no_token.status == 401  # row 1: and where to find out how to get a token
    assert m.no_token.param("resource_metadata") == m.metadata_url
    assert m.metadata.body["resource"] == m.resource  # row 2: byte for byte
    assert m.valid.status == 200  # row 3: alice's read token gets through
    assert m.insufficient_scope.status == 403  # row 5a: the route needs notes:read
    assert m.insufficient_scope.param("error") == "insufficient_scope"
    assert m.wrong_audience.status == 401  # row 5b: a gitea token is not a notes token
    assert m.forged_signature.status == 401  # G11: signed with a key the issuer never had
    assert m.spoofed_headers.structured["subject"] == m.valid.structured["subject"]  # row 6b


# --8<-- [end:test]
