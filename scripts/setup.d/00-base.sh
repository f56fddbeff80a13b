#!/usr/bin/env bash
# Tools the set-up, the tests and the README's "try it" script use: curl, and python3 for
# scripts/install_uv.py (a stock Debian/Ubuntu has it; a bare container image may not).
# Idempotent; the caller has run `apt-get update`.
set -euo pipefail
command -v curl >/dev/null && command -v python3 >/dev/null && exit 0
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl ca-certificates python3
