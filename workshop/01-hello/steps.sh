#!/usr/bin/env bash
# Chapter 01: the commands of workshop/01-hello/README.md, as CI runs them.
source "$(dirname "$0")/../lib.sh"

# --8<-- [start:start]
uv run fleet workshop catch-up 01
# --8<-- [end:start]

edit 01

# --8<-- [start:run]
uv run python workshop/work/hello.py
# --8<-- [end:run]

# --8<-- [start:check]
uv run fleet workshop check 01
# --8<-- [end:check]
