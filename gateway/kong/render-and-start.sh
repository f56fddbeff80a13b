#!/bin/sh
# Render the decK state file with the DECK_* environment (the gateway secret, origin and issuer) into
# the file Kong DB-less loads, then hand over to the kong image's own entrypoint.
# The rendered file holds the secret: it goes to a tmpfs (compose mounts one at /run/kong-fleet), 0600.
set -eu
: "${DECK_FLEET_GATEWAY_SECRET:?the gateway secret is required (FLEET_GATEWAY_SECRET in .env)}"
umask 077
mkdir -p "$(dirname "$KONG_DECLARATIVE_CONFIG")"
deck file render --populate-env-vars "$FLEET_KONG_TEMPLATE" -o "$KONG_DECLARATIVE_CONFIG"
exec /docker-entrypoint.sh "$@"
