# Shared by scripts/test and scripts/dev.

ensure_uv() {
    if ! command -v uv >/dev/null 2>&1; then
        echo "installing uv (pip --user)" >&2
        python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
        export PATH="$HOME/.local/bin:$PATH"
    fi
}

# Each scripts/setup.d/*.sh installs one service's Debian packages and exits fast when they are
# already there. As root they run directly; otherwise through sudo when it needs no password;
# otherwise we say what to run and go on (tests needing that service will then fail, loudly).
ensure_system_packages() {
    local runner=()
    if [[ $(id -u) -ne 0 ]]; then
        if sudo -n true 2>/dev/null; then
            runner=(sudo -n)
        else
            echo "note: not root and no passwordless sudo; if system packages are missing run:" >&2
            echo "      sudo bash -c 'apt-get update && for f in scripts/setup.d/*.sh; do bash \$f; done'" >&2
            return 0
        fi
    fi
    command -v apt-get >/dev/null 2>&1 || { echo "note: no apt-get; see README for system packages" >&2; return 0; }
    # Refresh the package lists once when they are missing or older than a day.
    if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mtime -1 -print -quit 2>/dev/null) ]]; then
        "${runner[@]}" apt-get update -qq
    fi
    local fragment
    for fragment in scripts/setup.d/*.sh; do
        [[ -e $fragment ]] && "${runner[@]}" bash "$fragment"
    done
}
