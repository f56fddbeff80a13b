# Shared by scripts/test and scripts/dev.

# uv: the one on PATH, else the one scripts/install_uv.py put in ~/.local/bin earlier (no reinstall),
# else install it there from its PyPI wheel with the system python3 (no pip needed; that script says
# why). The script also adds ~/.local/bin to PATH in the shell start-up files so the next terminal
# finds uv, and says what to run in this one.
ensure_uv() {
    command -v uv >/dev/null 2>&1 && return 0
    if ! command -v python3 >/dev/null 2>&1; then
        echo "error: uv is not installed and there is no python3 to install it with;" >&2
        echo "       install uv (https://docs.astral.sh/uv/getting-started/installation/) and rerun" >&2
        return 1
    fi
    python3 scripts/install_uv.py || return 1
    export PATH="${XDG_BIN_HOME:-$HOME/.local/bin}:$PATH"
}

# Each scripts/setup.d/*.sh installs one service's Debian packages and exits fast when they are
# already there. As root they run directly; otherwise through sudo when it needs no password;
# otherwise we say what to run and go on (tests needing that service will then fail, loudly).
# `ensure_system_packages dev` leaves out the fragments marked `# only for: scripts/test`.
ensure_system_packages() {
    local purpose=${1:-test}
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
        [[ -e $fragment ]] || continue
        [[ $purpose == dev ]] && grep -qx '# only for: scripts/test' "$fragment" && continue
        "${runner[@]}" bash "$fragment"
    done
}
