#!/usr/bin/env bash
# Chapter 09: the commands of workshop/09-audit/README.md, as CI runs them.
source "$(dirname "$0")/../lib.sh"

# --8<-- [start:start]
uv run fleet workshop catch-up 09
# --8<-- [end:start]

edit 09

# --8<-- [start:test]
uv run pytest servers/notes/tests/test_my_audit.py -q
# --8<-- [end:test]

# --8<-- [start:check]
uv run fleet workshop check 09
# --8<-- [end:check]
