#!/usr/bin/env bash
# Chapter 04: the commands of workshop/04-trust/README.md, as CI runs them.
source "$(dirname "$0")/../lib.sh"

# --8<-- [start:start]
uv run fleet workshop catch-up 04
# --8<-- [end:start]

edit 04

# --8<-- [start:insecure]
FLEET_NOTES_TRUST_MODE=insecure-dev FLEET_NOTES_PORT=8720 uv run python workshop/work/notes.py &
# --8<-- [end:insecure]
wait_for_port 8720

# --8<-- [start:forge]
curl -s http://127.0.0.1:8720/mcp \
  -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' \
  -H 'MCP-Protocol-Version: 2025-11-25' \
  -H 'X-MCP-Subject: the-ceo' \
  -H 'X-MCP-Scope: notes:read notes:write' \
  -H 'X-MCP-Audience: http://127.0.0.1:8720/mcp' \
  -H 'X-MCP-Expires: 2099-01-01T00:00:00Z' \
  -d '{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
       "params": {"name": "add_note", "arguments": {"text": "I am the CEO"}}}'
# --8<-- [end:forge]
echo
kill %1
wait

# --8<-- [start:secret]
FLEET_NOTES_GATEWAY_SECRETS=only-the-door-knows-this FLEET_NOTES_PORT=8720 \
  FLEET_NOTES_PUBLIC_URL=http://127.0.0.1:8720/mcp uv run python workshop/work/notes.py &
# --8<-- [end:secret]
wait_for_port 8720

# --8<-- [start:forge-again]
curl -s -i http://127.0.0.1:8720/mcp \
  -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' \
  -H 'MCP-Protocol-Version: 2025-11-25' \
  -H 'X-MCP-Subject: the-ceo' \
  -H 'X-MCP-Scope: notes:read notes:write' \
  -H 'X-MCP-Audience: http://127.0.0.1:8720/mcp' \
  -H 'X-MCP-Expires: 2099-01-01T00:00:00Z' \
  -d '{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
       "params": {"name": "add_note", "arguments": {"text": "I am the CEO"}}}'
# --8<-- [end:forge-again]
echo
kill %1
wait

# --8<-- [start:check]
uv run fleet workshop check 04
# --8<-- [end:check]
