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
installed && exit 0

export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${packages[@]}"

# The package pulls in apache2 as its httpd; the tests never use it, so keep it from holding port 80.
if command -v apache2ctl >/dev/null && pgrep -x apache2 >/dev/null; then
    apache2ctl stop || true
fi
