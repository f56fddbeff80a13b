#!/usr/bin/env bash
# Chapter 13: the commands of workshop/13-editors/README.md, as CI runs them.
source "$(dirname "$0")/../lib.sh"

# --8<-- [start:start]
uv run fleet workshop catch-up 13
# --8<-- [end:start]

# --8<-- [start:vscode]
mkdir -p .vscode
uv run fleet-client config --format vscode > .vscode/mcp.json
# --8<-- [end:vscode]

# --8<-- [start:claude]
uv run fleet-client config --format claude > .mcp.json
cat .mcp.json
# --8<-- [end:claude]

edit 13

# --8<-- [start:test]
uv run pytest servers/notes/tests/test_my_editors.py -q
# --8<-- [end:test]

# --8<-- [start:check]
uv run fleet workshop check 13
# --8<-- [end:check]
