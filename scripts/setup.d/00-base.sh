#!/usr/bin/env bash
# Tools the tests and the README's "try it" script use. Idempotent; the caller has run `apt-get update`.
set -euo pipefail
command -v curl >/dev/null && exit 0
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl ca-certificates
