#!/usr/bin/env bash
# MediaWiki + PHP for servers/wiki: its tests and `fleet dev` start a throwaway wiki (SQLite, `php -S`)
# from these system packages. Idempotent; the caller has run `apt-get update` once.
set -euo pipefail

packages=(mediawiki php-cli php-sqlite3 php-intl php-mbstring php-xml diffutils)

installed() {
    [[ -f /usr/share/mediawiki/maintenance/install.php ]] && command -v php >/dev/null || return 1
    local modules
    modules="$(php -m)"
    for m in pdo_sqlite intl mbstring xml; do grep -qx "$m" <<<"$modules" || return 1; done
    command -v diff3 >/dev/null
}
# The mediawiki package depends on "apache2 | httpd", so apt pulls in apache2 and enables it; the wiki
# runs on `php -S` and never needs it. When apache2 is here only as that dependency (apt marks it
# "automatically installed"), stop it and keep it from starting at boot. An apache2 someone installed
# on purpose is left alone. Runs on every call, so machines set up by an older version get fixed too.
quiet_apache() {
    apt-mark showauto apache2 2>/dev/null | grep -qx apache2 || return 0
    if command -v systemctl >/dev/null; then
        systemctl disable --quiet apache2 2>/dev/null || true
    elif command -v update-rc.d >/dev/null; then
        update-rc.d apache2 disable >/dev/null 2>&1 || true
    fi
    if command -v apache2ctl >/dev/null && pgrep -x apache2 >/dev/null; then
        apache2ctl stop || true
    fi
}

if ! installed; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${packages[@]}"
fi
quiet_apache
