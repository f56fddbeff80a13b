#!/usr/bin/env bash
# wrk, the C HTTP load generator bench/core_bench.py drives the servers with (it falls back to its
# own Python generator, and says so, when wrk is missing). Only the benchmarks need it (dev machines too: that is where one runs them).
# Idempotent; the caller has run `apt-get update` once.
set -euo pipefail
command -v wrk >/dev/null && exit 0
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk
