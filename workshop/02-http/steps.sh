#!/usr/bin/env bash
# Chapter 02: the commands of workshop/02-http/README.md, as CI runs them.
source "$(dirname "$0")/../lib.sh"

edit 02

# --8<-- [start:server]
uv run python workshop/work/hello.py --http --port 8720 &
# --8<-- [end:server]
wait_for_port 8720

# --8<-- [start:legacy]
curl -s http://127.0.0.1:8720/mcp \
  -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' \
  -H 'MCP-Protocol-Version: 2025-11-25' \
  -d '{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
       "params": {"name": "greet", "arguments": {"name": "Ada"}}}'
# --8<-- [end:legacy]
echo

# --8<-- [start:current]
curl -s http://127.0.0.1:8720/mcp \
  -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' \
  -H 'MCP-Protocol-Version: 2026-07-28' \
  -H 'Mcp-Method: tools/call' \
  -H 'Mcp-Name: greet' \
  -d '{"jsonrpc": "2.0", "id": 2, "method": "tools/call",
       "params": {"name": "greet", "arguments": {"name": "Ada"},
                  "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                            "io.modelcontextprotocol/clientCapabilities": {}}}}'
# --8<-- [end:current]
echo

# --8<-- [start:stop]
kill %1
# --8<-- [end:stop]
wait

# --8<-- [start:check]
uv run fleet workshop check 02
# --8<-- [end:check]
