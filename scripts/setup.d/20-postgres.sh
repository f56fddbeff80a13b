#!/usr/bin/env bash
# PostgreSQL server binaries for servers/db: its tests, `fleet-db` without a database URL and `fleet dev`
# start a throwaway cluster (initdb + pg_ctl, loopback only) from these. postgresql-contrib brings
# pg_stat_statements (top_queries) and dblink (the hostile-SQL tests check it can't be reached).
# Idempotent; the caller has run `apt-get update` once. Runs as root: the cluster then runs as `postgres`.
set -euo pipefail

installed() {
    local bindir
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
    [[ -n "$bindir" && -x "$bindir/initdb" && -x "$bindir/pg_ctl" ]] || return 1
    ls /usr/share/postgresql/*/extension/pg_stat_statements.control >/dev/null 2>&1 || return 1
    getent passwd postgres >/dev/null && command -v runuser >/dev/null
}
installed && exit 0

export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends postgresql postgresql-contrib
# The Debian package starts a system cluster on :5432; the tests never use it.
if command -v pg_ctlcluster >/dev/null; then
    for conf in /etc/postgresql/*/main; do
        [[ -d "$conf" ]] || continue
        version="$(basename "$(dirname "$conf")")"
        pg_ctlcluster "$version" main stop 2>/dev/null || true
    done
fi
