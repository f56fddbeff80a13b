#!/usr/bin/env bash
# Chapter 12: the commands of workshop/12-compose/README.md, as CI runs them. CI has no Docker engine:
# the last two commands (build and start the stack, verify it) run only where one answers and .env has
# an AuthGate release filled in.
source "$(dirname "$0")/../lib.sh"

# --8<-- [start:start]
uv run fleet workshop catch-up 12
# --8<-- [end:start]

# --8<-- [start:service]
sed -n '/^  mcp-notes:/,/^    restart:/p' compose.yaml
# --8<-- [end:service]

# --8<-- [start:init]
uv run fleet stack init
# --8<-- [end:init]

edit 12

# --8<-- [start:test]
uv run pytest servers/notes/tests/test_my_deploy.py -q
# --8<-- [end:test]

if docker info >/dev/null 2>&1 && grep -q '^AUTHGATE_VERSION=.' .env; then
    # --8<-- [start:up]
    docker compose up -d --build
    # --8<-- [end:up]
    # --8<-- [start:verify]
    uv run fleet stack verify --origin http://127.0.0.1:8700 --clients .secrets/authgate-clients
    # --8<-- [end:verify]
fi

# --8<-- [start:check]
uv run fleet workshop check 12
# --8<-- [end:check]
