#!/usr/bin/env bash
# Chapter 03: the commands of workshop/03-front-door/README.md, as CI runs them.
source "$(dirname "$0")/../lib.sh"

# --8<-- [start:start]
uv run fleet workshop catch-up 03
# --8<-- [end:start]

# --8<-- [start:fleet]
uv run fleet dev --no-live &
# --8<-- [end:fleet]
wait_for_fleet

# --8<-- [start:run]
SERVER=gitea ./scripts/try-fleet
# --8<-- [end:run]

# --8<-- [start:wrong-door]
GATEWAY=${GATEWAY:-http://127.0.0.1:8700}
TOKEN=$(uv run fleet dev token --user alice --scope gitea:read)
curl -si -X POST "$GATEWAY/mcp/sentry" -H "Authorization: Bearer $TOKEN" \
  | grep -i -e '^HTTP/' -e '^www-authenticate:'
# --8<-- [end:wrong-door]

# --8<-- [start:claims]
uv run python -c 'import json, sys, jwt
print(json.dumps(jwt.decode(sys.argv[1], options={"verify_signature": False}), indent=2))' "$TOKEN"
# --8<-- [end:claims]

edit 03

# --8<-- [start:stop]
kill -INT %1
# --8<-- [end:stop]
wait

# --8<-- [start:check]
uv run fleet workshop check 03
# --8<-- [end:check]
