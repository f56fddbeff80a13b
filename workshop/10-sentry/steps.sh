#!/usr/bin/env bash
# Chapter 10: the commands of workshop/10-sentry/README.md, as CI runs them.
source "$(dirname "$0")/../lib.sh"

# --8<-- [start:start]
uv run fleet workshop catch-up 10
# --8<-- [end:start]

edit 10

# --8<-- [start:inbox]
uv run fleet workshop sentry-inbox --port "${INBOX_PORT:-8790}" &
# --8<-- [end:inbox]
wait_for_port "${INBOX_PORT:-8790}"

# --8<-- [start:test]
FLEET_SENTRY_INBOX="http://public@127.0.0.1:${INBOX_PORT:-8790}/1" \
  uv run pytest servers/notes/tests/test_my_sentry.py -q
# --8<-- [end:test]

# --8<-- [start:stop]
kill %1
# --8<-- [end:stop]
wait

# --8<-- [start:check]
uv run fleet workshop check 10
# --8<-- [end:check]
