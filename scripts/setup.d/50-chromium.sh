#!/usr/bin/env bash
# Chromium + its WebDriver from Debian for the browser tests of the dev authorization server's pages
# (frontdoor/tests/test_as_pages_browser.py drives them headless through Selenium). Debian builds
# chromium and chromium-driver from one source package at one version, so the driver always matches
# the browser and nothing is downloaded at test time. Idempotent; the caller has run `apt-get update`.
# only for: scripts/test
set -euo pipefail

packages=(chromium chromium-driver fonts-dejavu-core) # a font: text to lay out and screenshot

installed() {
    [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] || return 1
    dpkg-query -W -f='${Status}\n' fonts-dejavu-core 2>/dev/null | grep -q ' installed$' || return 1
    # a half-upgraded pair can't start a session: the two versions must be the same
    [[ "$(dpkg-query -W -f='${Version}' chromium)" == "$(dpkg-query -W -f='${Version}' chromium-driver)" ]]
}
installed && exit 0

# Ubuntu's chromium packages only install the snap, which a container or CI image can't run.
if grep -qx 'ID=ubuntu' /etc/os-release 2>/dev/null; then
    echo "note: Ubuntu has no Debian chromium; the browser tests need /usr/bin/chromium and" >&2
    echo "      /usr/bin/chromedriver (use the dev container, or Debian)" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${packages[@]}"
