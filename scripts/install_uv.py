#!/usr/bin/env python3
"""Install uv into ~/.local/bin from its PyPI wheel, with nothing but the system Python.

Why this and not `pip install uv` or uv's own installer:
- stock Debian/Ubuntu Python has no pip, and PEP 668 makes its pip refuse `--user` installs anyway;
  `python3 -m venv` needs the `python3-venv` package (root), and there is no Debian package of uv;
- uv's installer script downloads its binary from GitHub; the uv wheel on PyPI holds the same
  static binary, and PyPI is what `uv sync` needs to reach anyway.
So: ask the package index (PEP 691 JSON, or the PEP 503 HTML page a mirror serves) for the pinned uv
release, take the wheel for this platform, check its sha256 against the index's, and copy its `uv`
and `uvx` out (a wheel is a zip file; the binaries are under `uv-<version>.data/scripts/`).

Then make the next shell find it: ~/.local/bin is added to PATH in ~/.bashrc and ~/.profile (and
~/.bash_profile and ~/.zshrc when they exist) with a marked, idempotent line, unless
FLEET_NO_MODIFY_PATH is set; either way the last lines printed say exactly what to run.

Settings (environment): FLEET_UV_VERSION (default below), XDG_BIN_HOME (default ~/.local/bin),
UV_INDEX_URL or PIP_INDEX_URL (default https://pypi.org/simple), FLEET_NO_MODIFY_PATH.
Standard library only, and no syntax newer than Python 3.8: it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import html.parser
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

UV_VERSION = "0.13.9"  # the uv that wrote uv.lock
DEFAULT_INDEX = "https://pypi.org/simple"
MARKER = "# mcp-fleet: uv lives in"
Fetch = Callable[..., "tuple[bytes, str]"]


class InstallError(Exception):
    pass


# ----------------------------------------------------------------------------- which wheel


def _glibc() -> tuple[int, int] | None:
    name, version = platform.libc_ver()
    if name != "glibc":
        return None
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _arch(machine: str) -> str:
    return {"amd64": "x86_64", "arm64": "aarch64", "armv8l": "armv7l"}.get(machine.lower(), machine.lower())


def wheel_fits(
    filename: str, system: str, machine: str, glibc: tuple[int, int] | None, mac: tuple[int, int]
) -> bool:
    """True when a uv wheel (`uv-V-py3-none-<platforms>.whl`) runs here."""
    if not filename.endswith(".whl"):
        return False
    platforms = filename[: -len(".whl")].split("-")[-1].split(".")
    arch = _arch(machine)
    for tag in platforms:
        if system == "Linux":
            legacy = re.fullmatch(r"manylinux(2014|2010|1)_(.+)", tag)
            if legacy:
                need = {"2014": (2, 17), "2010": (2, 12), "1": (2, 5)}[legacy.group(1)]
                if glibc and legacy.group(2) == arch and glibc >= need:
                    return True
                continue
            match = re.fullmatch(r"(manylinux|musllinux)_(\d+)_(\d+)_(.+)", tag)
            if not match or match.group(4) != arch:
                continue
            wanted = (int(match.group(2)), int(match.group(3)))
            if match.group(1) == "manylinux" and glibc and glibc >= wanted:
                return True
            if match.group(1) == "musllinux" and glibc is None:
                return True
        elif system == "Darwin":
            match = re.fullmatch(r"macosx_(\d+)_(\d+)_(.+)", tag)
            mac_arch = "arm64" if arch in ("arm64", "aarch64") else arch
            if (
                match
                and match.group(3) in (mac_arch, "universal2")
                and mac >= (int(match.group(1)), int(match.group(2)))
            ):
                return True
    return False


class _Links(html.parser.HTMLParser):
    """The anchors of a PEP 503 simple page: (filename, url)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")

    def handle_data(self, data: str) -> None:
        if self._href is not None and data.strip():
            self.links.append((data.strip(), self._href))
            self._href = None


def index_files(index: str, fetch: Fetch | None = None) -> list[dict[str, str]]:
    """The uv release files the index lists: filename, absolute url, sha256."""
    fetch = fetch or _fetch
    page = index.rstrip("/") + "/uv/"
    body, content_type = fetch(
        page,
        "application/vnd.pypi.simple.v1+json, text/html;q=0.2, application/vnd.pypi.simple.v1+html;q=0.1",
    )
    files = []
    if "json" in content_type:
        for item in json.loads(body)["files"]:
            url = urllib.parse.urljoin(page, item["url"])
            files.append(
                {"filename": item["filename"], "url": url, "sha256": item["hashes"].get("sha256", "")}
            )
        return files
    parser = _Links()
    parser.feed(body.decode("utf-8", "replace"))
    for filename, href in parser.links:
        url, _, fragment = urllib.parse.urljoin(page, href).partition("#")
        digest = fragment[len("sha256=") :] if fragment.startswith("sha256=") else ""
        files.append({"filename": filename, "url": url, "sha256": digest})
    return files


def pick(files: list[dict[str, str]], version: str) -> dict[str, str]:
    system, machine = platform.system(), platform.machine()
    mac_release = platform.mac_ver()[0] or "0.0"
    major, minor = (int(p) for p in [*mac_release.split("."), "0"][:2])
    mac = (major, minor)
    glibc = _glibc() if system == "Linux" else None
    for item in files:
        if item["filename"].startswith(f"uv-{version}-") and wheel_fits(
            item["filename"], system, machine, glibc, mac
        ):
            return item
    raise InstallError(
        f"the package index has no uv {version} wheel for {system} {machine}"
        + (f" (glibc {glibc[0]}.{glibc[1]})" if glibc else "")
        + "; install uv yourself (https://docs.astral.sh/uv/getting-started/installation/) and rerun"
    )


def _fetch(url: str, accept: str = "*/*") -> tuple[bytes, str]:
    # the index URL is the user's (https by default); file: works for a local mirror
    headers = {"Accept": accept, "User-Agent": "mcp-fleet-install-uv"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
        return response.read(), response.headers.get("Content-Type", "")


# ----------------------------------------------------------------------------- installing


def unpack(wheel: Path, bin_dir: Path) -> list[Path]:
    """Copy `uv` and `uvx` out of the wheel into bin_dir (atomic rename, mode 0755)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            match = re.fullmatch(r"uv-[^/]+\.data/scripts/(uvx?)", name)
            if not match:
                continue
            target = bin_dir / match.group(1)
            fd, tmp = tempfile.mkstemp(dir=bin_dir, prefix=f".{target.name}.")
            with os.fdopen(fd, "wb") as out, archive.open(name) as src:
                out.write(src.read())
            os.chmod(tmp, 0o755)  # noqa: S103 (a program: rwxr-xr-x)
            os.replace(tmp, target)
            written.append(target)
    if not any(p.name == "uv" for p in written):
        raise InstallError(f"{wheel.name} holds no uv binary")
    return written


def install(version: str, index: str, bin_dir: Path, fetch: Fetch | None = None) -> Path:
    fetch = fetch or _fetch
    item = pick(index_files(index, fetch), version)
    body, _ = fetch(item["url"])
    digest = hashlib.sha256(body).hexdigest()
    if not item["sha256"] or digest != item["sha256"]:
        raise InstallError(
            f"{item['filename']}: sha256 {digest} is not the index's {item['sha256'] or '(none)'}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        wheel = Path(tmp) / item["filename"]
        wheel.write_bytes(body)
        unpack(wheel, bin_dir)
    return bin_dir / "uv"


def path_line(bin_dir: Path, home: Path) -> str:
    try:
        shown = "$HOME/" + str(bin_dir.relative_to(home))
    except ValueError:
        shown = str(bin_dir)
    return f'case ":$PATH:" in *":{shown}:"*) ;; *) export PATH="{shown}:$PATH" ;; esac'


def add_to_path(bin_dir: Path, home: Path) -> list[Path]:
    """Append the PATH line to the shell start-up files that lack it; the files changed."""
    targets = [home / ".bashrc", home / ".profile"]
    # bash login shells read ~/.bash_profile instead of ~/.profile when it exists
    targets += [home / name for name in (".bash_profile", ".zshrc") if (home / name).exists()]
    changed = []
    block = f"\n{MARKER} {bin_dir}\n{path_line(bin_dir, home)}\n"
    for rc in targets:
        try:
            text = rc.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        if f"{MARKER} {bin_dir}\n" in text:
            continue
        with rc.open("a", encoding="utf-8") as out:
            out.write(block)
        changed.append(rc)
    return changed


def works(uv: Path) -> bool:
    try:
        return subprocess.run([str(uv), "--version"], capture_output=True, check=False).returncode == 0
    except OSError:
        return False


def main() -> int:
    home = Path.home()
    bin_dir = Path(os.environ.get("XDG_BIN_HOME") or home / ".local" / "bin")
    version = os.environ.get("FLEET_UV_VERSION") or UV_VERSION
    index = os.environ.get("UV_INDEX_URL") or os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX
    uv = bin_dir / "uv"
    if works(uv):
        print(f"uv: found {uv}", file=sys.stderr)
    else:
        print(f"uv: installing uv {version} into {bin_dir} (its wheel from {index})", file=sys.stderr)
        try:
            install(version, index, bin_dir)
        except (InstallError, OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            print(f"uv: could not install uv: {exc}", file=sys.stderr)
            return 1
    on_path = str(bin_dir) in os.environ.get("PATH", "").split(os.pathsep)
    if os.environ.get("FLEET_NO_MODIFY_PATH"):
        print(
            f"uv: add {bin_dir} to PATH yourself, e.g. in ~/.bashrc:\n    {path_line(bin_dir, home)}",
            file=sys.stderr,
        )
    else:
        changed = add_to_path(bin_dir, home)
        if changed:
            names = " and ".join("~/" + str(p.relative_to(home)) for p in changed)
            print(f"uv: added {bin_dir} to PATH in {names} (new terminals find uv)", file=sys.stderr)
    if not on_path:
        print(f'uv: in this terminal, run:  export PATH="{bin_dir}:$PATH"', file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
