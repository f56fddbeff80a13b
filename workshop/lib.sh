# Sourced by every chapter's steps.sh (not something you type). It runs the chapter from the repo root.
# Under the CI dry-run (WORKSHOP_DRY_RUN=1) the "now edit" point lays the chapter's solution instead of
# waiting for you; `fleet workshop catch-up NN --solution` does the same for you when you are stuck.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

edit() {
    if [[ -n "${WORKSHOP_DRY_RUN:-}" ]]; then
        uv run fleet workshop catch-up "$1" --solution >/dev/null
    else
        read -rp "Now edit the files as workshop/$1-*/README.md says, then press Enter " _
    fi
}

wait_for_port() {  # wait_for_port PORT: until something listens there (at most 30 s)
    for _ in $(seq 150); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.2
    done
    echo "nothing listens on port $1" >&2
    return 1
}

stop_background() {  # the servers a chapter started with `&`
    local pids
    pids=$(jobs -p)
    if [[ -n "$pids" ]]; then kill $pids 2>/dev/null || true; wait $pids 2>/dev/null || true; fi
}
trap stop_background EXIT

wait_for_fleet() {  # wait_for_fleet [SERVER...]: until `fleet dev` serves them (default: gitea, sentry; at most 90 s)
    uv run python - "$@" <<'PY'
import sys
import time
import tomllib

import httpx2

# fleet.toml's URLs with tomllib (fleet dev has validated it): the manifest model would import
# fleet_core and the MCP SDK, seconds of CPU each time a chapter starts the fleet
with open("fleet.toml", "rb") as file:
    manifest = tomllib.load(file)
urls = [manifest["gateway"]["origin"] + "/healthz"]
urls += [manifest["issuer"]["url"] + "/.well-known/oauth-authorization-server"]
names = sys.argv[1:] or ["gitea", "sentry"]
urls += [s["upstream"] + "/readyz" for s in manifest["servers"] if s.get("enabled", True) and s["name"] in names]
deadline = time.monotonic() + 90
for url in urls:
    while True:
        try:
            if httpx2.get(url, timeout=2, trust_env=False).status_code == 200:
                break
        except httpx2.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"fleet dev did not come up: {url}")
        time.sleep(0.3)
PY
}

approve_device_in_dry_run() {  # CI only: a "user" approves the device code the next command prints
    [[ -n "${WORKSHOP_DRY_RUN:-}" ]] || return 0
    local log
    log=$(mktemp)
    exec 5>&2 2> >(tee "$log" >&5)
    (
        for _ in $(seq 300); do
            url=$(grep -o 'http[^ ]*/device[^ ]*' "$log" | head -n1 || true)
            [[ -n "$url" ]] && break
            sleep 0.2
        done
        uv run python -c 'import sys, anyio
from fleet_frontdoor.authserver.browser import approve_device
anyio.run(lambda: approve_device(sys.argv[1], user="alice"))' "$url"
    ) &
    APPROVER=$!
}

approved_in_dry_run() {  # CI only: wait for that approval, and stop copying what the command printed
    [[ -n "${WORKSHOP_DRY_RUN:-}" ]] || return 0
    exec 2>&5
    wait "$APPROVER"
}
