#!/usr/bin/env bash
# Chapter 00: the commands of workshop/00-setup/README.md, as CI runs them.
source "$(dirname "$0")/../lib.sh"

# --8<-- [start:run]
uv run fleet workshop doctor
# --8<-- [end:run]

# --8<-- [start:check]
uv run fleet workshop check 00
# --8<-- [end:check]
