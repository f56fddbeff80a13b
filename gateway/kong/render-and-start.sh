#!/bin/sh
# Render the decK state file with the DECK_* environment (one gateway secret per server, origin, issuer)
# into the file Kong DB-less loads, then hand over to the kong image's own entrypoint.
# The rendered file holds the secrets: it goes to a tmpfs (compose mounts one at /run/kong-fleet), 0600.
# decK itself refuses to render when a DECK_* variable the template names is unset.
set -eu
umask 077
mkdir -p "$(dirname "$KONG_DECLARATIVE_CONFIG")"
deck file render --populate-env-vars "$FLEET_KONG_TEMPLATE" -o "$KONG_DECLARATIVE_CONFIG"
exec /docker-entrypoint.sh "$@"
