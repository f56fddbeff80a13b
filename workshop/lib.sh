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
