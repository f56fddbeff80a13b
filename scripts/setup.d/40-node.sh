#!/usr/bin/env bash
# Node 22 + the MCP conformance suite for client/ (tests: client/tests/test_client_conformance.py).
# Both come from the npm registry as pinned packages in client/conformance/package-lock.json
# (`node@22` ships the runtime as a package; no system Node 22 needed). Only npm itself comes
# from Debian when the machine has none. Idempotent; the caller has run `apt-get update` once.
# only for: scripts/test
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../client/conformance" && pwd)"

installed() {
    [[ -x "$dir/node_modules/.bin/node" && -e "$dir/node_modules/.bin/conformance" ]] || return 1
    [[ "$("$dir/node_modules/.bin/node" --version 2>/dev/null)" == v22.* ]] || return 1
    # node_modules must match the lock (npm writes this file on every install)
    [[ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]]
}
installed && exit 0

if ! command -v npm >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends nodejs npm
fi
cd "$dir"
# `node` (the runtime package) installs its binary in a preinstall script; package.json's
# allowScripts approves exactly that one for npm versions that gate install scripts.
npm ci --no-audit --no-fund --loglevel=error
"$dir/node_modules/.bin/node" --version
