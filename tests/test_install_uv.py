"""scripts/install_uv.py: the wheel it picks, the hash it checks, and the PATH line it writes once."""

from __future__ import annotations

import hashlib
import io
import json
import platform
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
try:
    import install_uv
finally:
    sys.path.remove(str(ROOT / "scripts"))

LINUX_X86 = "uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
NAMES = [
    "uv-0.13.9-py3-none-macosx_11_0_arm64.whl",
    "uv-0.13.9-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl",
    "uv-0.13.9-py3-none-manylinux_2_28_aarch64.whl",
    "uv-0.13.9-py3-none-musllinux_1_1_x86_64.whl",
    LINUX_X86,
    "uv-0.13.9.tar.gz",
]


def test_the_wheel_for_each_platform() -> None:
    def fits(
        system: str, machine: str, glibc: tuple[int, int] | None, mac: tuple[int, int] = (0, 0)
    ) -> list[str]:
        return [n for n in NAMES if install_uv.wheel_fits(n, system, machine, glibc, mac)]

    assert fits("Linux", "x86_64", (2, 36)) == [LINUX_X86]  # Debian 12
    assert fits("Linux", "x86_64", None) == ["uv-0.13.9-py3-none-musllinux_1_1_x86_64.whl"]  # Alpine
    assert fits("Linux", "aarch64", (2, 17)) == [NAMES[1]]  # too old a glibc for manylinux_2_28
    assert fits("Linux", "x86_64", (2, 12)) == []  # glibc older than any wheel
    assert fits("Darwin", "arm64", None, (14, 2)) == [NAMES[0]]


def _wheel() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("uv-0.13.9.data/scripts/uv", "#!/bin/sh\necho uv 0.13.9\n")
        archive.writestr("uv-0.13.9.data/scripts/uvx", "#!/bin/sh\n")
        archive.writestr("uv/__init__.py", "")
    return buffer.getvalue()


def _index(digest: str, html: bool) -> install_uv.Fetch:
    wheel = _wheel()

    def fetch(url: str, accept: str = "*/*") -> tuple[bytes, str]:
        if url == "https://index.example/simple/uv/":
            if html:
                page = f'<html><body><a href="../../files/{LINUX_X86}#sha256={digest}">{LINUX_X86}</a></body>'
                return page.encode(), "text/html"
            item = {"filename": LINUX_X86, "url": f"../../files/{LINUX_X86}", "hashes": {"sha256": digest}}
            return json.dumps({"files": [item]}).encode(), "application/vnd.pypi.simple.v1+json"
        assert url == f"https://index.example/files/{LINUX_X86}"
        return wheel, "application/octet-stream"

    return fetch


@pytest.mark.parametrize("html", [False, True], ids=["pep691-json", "pep503-html"])
def test_installs_uv_and_uvx_from_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, html: bool
) -> None:
    monkeypatch.setattr(platform, "system", lambda: "Linux")
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(install_uv, "_glibc", lambda: (2, 36))
    digest = hashlib.sha256(_wheel()).hexdigest()
    uv = install_uv.install("0.13.9", "https://index.example/simple", tmp_path / "bin", _index(digest, html))
    assert sorted(p.name for p in (tmp_path / "bin").iterdir()) == ["uv", "uvx"]
    assert subprocess.run([str(uv)], capture_output=True, text=True, check=True).stdout == "uv 0.13.9\n"


def test_a_wheel_whose_hash_differs_from_the_index_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(platform, "system", lambda: "Linux")
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(install_uv, "_glibc", lambda: (2, 36))
    with pytest.raises(install_uv.InstallError, match="sha256"):
        install_uv.install(
            "0.13.9", "https://index.example/simple", tmp_path / "bin", _index("0" * 64, False)
        )
    assert not (tmp_path / "bin" / "uv").exists()


def test_the_path_line_is_added_once_and_works(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("# the user's own\n")
    bin_dir = home / ".local" / "bin"
    assert install_uv.add_to_path(bin_dir, home) == [home / ".bashrc", home / ".profile"]
    assert install_uv.add_to_path(bin_dir, home) == []
    assert (home / ".bashrc").read_text().startswith("# the user's own\n")
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    shown = subprocess.run(
        ["bash", "-c", '. "$HOME/.profile"; . "$HOME/.profile"; echo "$PATH"'],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == f"{bin_dir}:/usr/bin:/bin"  # once, even when read twice
