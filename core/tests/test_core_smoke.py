from __future__ import annotations

import anyio
import pytest
from mcp.server.mcpserver import MCPServer

from fleet_core.testing import connect, identity, serve_server, settings_for


@pytest.mark.parametrize(("mode", "version"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
async def test_whoami_returns_the_caller_in_both_protocol_eras(
    server: MCPServer, mode: str, version: str
) -> None:
    settings = settings_for(name="test")
    who = identity("alice", "test:read", audience=settings.public_url)
    with anyio.fail_after(20):
        async with serve_server(server, settings) as url, connect(url, identity=who, mode=mode) as client:
            assert client.protocol_version == version
            result = await client.call_tool("whoami", {})
    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["subject"] == "alice"
    assert result.structured_content["scopes"] == ["test:read"]
