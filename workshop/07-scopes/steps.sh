#!/usr/bin/env bash
# Chapter 07: the commands of workshop/07-scopes/README.md, as CI runs them.
source "$(dirname "$0")/../lib.sh"

# --8<-- [start:start]
uv run fleet workshop catch-up 07
# --8<-- [end:start]

edit 07

# --8<-- [start:test]
uv run pytest servers/notes/tests/test_my_scopes.py -q
# --8<-- [end:test]

# --8<-- [start:check]
uv run fleet workshop check 07
# --8<-- [end:check]
