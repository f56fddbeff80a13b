#!/usr/bin/env bash
# Chapter 05: the commands of workshop/05-login/README.md, as CI runs them.
source "$(dirname "$0")/../lib.sh"

# --8<-- [start:start]
uv run fleet workshop catch-up 05
# --8<-- [end:start]

# --8<-- [start:fleet]
export FLEET_CI_BOT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
uv run fleet dev --no-live &
# --8<-- [end:fleet]
wait_for_fleet

approve_device_in_dry_run
# --8<-- [start:device]
uv run fleet-client login --device --server gitea
# --8<-- [end:device]
if [[ -n "${WORKSHOP_DRY_RUN:-}" ]]; then exec 2>&5; wait %2; fi

# --8<-- [start:call]
uv run fleet-client call gitea whoami
uv run fleet-client whoami
# --8<-- [end:call]

edit 05

# --8<-- [start:client-credentials]
FLEET_CLIENT_CONFIG=workshop/work/fleet-client.toml \
  uv run fleet-client call gitea whoami --client-credentials
# --8<-- [end:client-credentials]

# --8<-- [start:cimd]
uv run fleet-client metadata-document --url https://you.example.org/fleet/client.json \
  > workshop/work/client-metadata.json
# --8<-- [end:cimd]

# --8<-- [start:stop]
kill -INT %1
# --8<-- [end:stop]
wait

# --8<-- [start:check]
uv run fleet workshop check 05
# --8<-- [end:check]
