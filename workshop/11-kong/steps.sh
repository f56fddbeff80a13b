#!/usr/bin/env bash
# Chapter 11: the commands of workshop/11-kong/README.md, as CI runs them.
source "$(dirname "$0")/../lib.sh"

# --8<-- [start:start]
uv run fleet workshop catch-up 11
# --8<-- [end:start]

# --8<-- [start:route]
sed -n '/name: "mcp-notes"/,/name: cors/p' gateway/kong.yml
# --8<-- [end:route]

# --8<-- [start:authgate]
grep -n notes gateway/authgate.env.example
# --8<-- [end:authgate]

# --8<-- [start:in-sync]
uv run fleet gateway kong --check
# --8<-- [end:in-sync]

edit 11

# --8<-- [start:test]
uv run pytest servers/notes/tests/test_my_gateway.py -q
# --8<-- [end:test]

# --8<-- [start:check]
uv run fleet workshop check 11
# --8<-- [end:check]
