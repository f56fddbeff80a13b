#!/usr/bin/env bash
# Chapter 06: the commands of workshop/06-scaffold/README.md, as CI runs them.
source "$(dirname "$0")/../lib.sh"

# --8<-- [start:start]
uv run fleet workshop catch-up 06
# --8<-- [end:start]

# --8<-- [start:new]
uv run fleet new notes --item note
# --8<-- [end:new]

# --8<-- [start:look]
git status --short
git diff fleet.toml
# --8<-- [end:look]

edit 06

# --8<-- [start:test]
uv run pytest servers/notes/tests/test_my_notes.py -q
# --8<-- [end:test]

# --8<-- [start:check]
uv run fleet workshop check 06
# --8<-- [end:check]
