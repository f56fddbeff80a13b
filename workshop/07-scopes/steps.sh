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

# --8<-- [start:fleet]
uv run fleet dev --no-live &
# --8<-- [end:fleet]
wait_for_fleet notes

approve_device_in_dry_run
# --8<-- [start:read]
uv run fleet-client login --device --server notes --scope notes:read
# --8<-- [end:read]
approved_in_dry_run

approve_device_in_dry_run
# --8<-- [start:step-up]
uv run fleet-client call notes delete_note note_id=1
# --8<-- [end:step-up]
approved_in_dry_run

# --8<-- [start:stop]
kill -INT %1
# --8<-- [end:stop]
wait

# --8<-- [start:check]
uv run fleet workshop check 07
# --8<-- [end:check]
