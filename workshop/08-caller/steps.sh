#!/usr/bin/env bash
# Chapter 08: the commands of workshop/08-caller/README.md, as CI runs them.
source "$(dirname "$0")/../lib.sh"

# --8<-- [start:start]
uv run fleet workshop catch-up 08
# --8<-- [end:start]

edit 08

# --8<-- [start:test]
uv run pytest servers/notes/tests/test_my_caller.py -q
# --8<-- [end:test]

# --8<-- [start:check]
uv run fleet workshop check 08
# --8<-- [end:check]
