"""`fleet workshop doctor`: the machine check to run the day before. Required tools and their versions,
the workspace, the ports the chapters use; optional tools only later chapters need. Each finding that
is not OK says the command that fixes it."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx2

__all__ = [
    "CHAPTER_02_PORT",
    "INBOX_PORT",
    "Finding",
    "optional_findings",
    "port_findings",
    "required_findings",
]

CHAPTER_02_PORT = 8720  # where chapter 02's (and 04's) server listens (workshop/02-http/steps.sh)
INBOX_PORT = 8790  # `fleet workshop sentry-inbox`'s default (chapter 10)


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    found: str  # the version or state found
    fix: str = ""  # the command that installs or frees it


def _version(argv: list[str]) -> str | None:
    try:
        # a fixed tool name found on PATH, asked for its version
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"\d+(?:\.\d+)+", done.stdout + done.stderr)
    return match.group(0) if done.returncode == 0 and match else None


def _uv() -> str | None:
    found = os.environ.get("UV") or shutil.which("uv")
    if found is None and (Path.home() / ".local" / "bin" / "uv").is_file():
        found = str(Path.home() / ".local" / "bin" / "uv")
    return found


def _tool(name: str, argv: list[str], fix: str) -> Finding:
    path = shutil.which(argv[0]) if not os.path.isabs(argv[0]) else argv[0]
    version = _version([path, *argv[1:]]) if path else None
    return Finding(name, version is not None, version or "not found", "" if version else fix)


def required_findings(root: Path) -> list[Finding]:
    python = ".".join(map(str, sys.version_info[:3]))
    findings = [
        Finding(
            "Python ≥ 3.11",
            sys.version_info >= (3, 11),
            python,
            "" if sys.version_info >= (3, 11) else "uv python install 3.11 && uv sync",
        )
    ]
    uv = _uv()
    findings.append(
        _tool("uv", [uv or "uv", "--version"], "python3 scripts/install_uv.py  # then open a new terminal")
    )
    findings.append(_tool("git", ["git", "--version"], "sudo apt-get install -y git"))
    findings.append(_tool("curl", ["curl", "--version"], "sudo apt-get install -y curl"))
    findings.append(_tool("bash", ["bash", "--version"], "sudo apt-get install -y bash"))
    try:
        mcp = importlib.metadata.version("mcp")
        core = importlib.metadata.version("fleet-core")
        findings.append(Finding("the workspace (uv sync)", True, f"mcp {mcp}, fleet-core {core}"))
    except importlib.metadata.PackageNotFoundError as exc:
        findings.append(Finding("the workspace (uv sync)", False, f"{exc} missing", "uv sync"))
    manifest = root / "fleet.toml"
    findings.append(
        Finding(
            "fleet.toml",
            manifest.is_file(),
            str(manifest),
            "" if manifest.is_file() else "cd into your clone",
        )
    )
    return findings


def _busy(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _fleet_dev_answers(url: str) -> bool:
    try:
        return httpx2.get(url + "/healthz", timeout=2, trust_env=False).status_code == 200
    except httpx2.HTTPError:
        return False


def port_findings(root: Path) -> list[Finding]:
    """The ports of the gateway, the authorization server, gitea and sentry (chapters 03 and 05),
    chapter 02's server and chapter 10's Sentry inbox. One already held by a running `fleet dev` is fine."""
    from ..manifest import load_manifest

    manifest = load_manifest(root / "fleet.toml")
    wanted = [("the gateway", manifest.gateway.origin), ("the authorization server", manifest.issuer.url)]
    wanted += [
        (f"the {s.name} server", s.upstream) for s in manifest.servers if s.name in ("gitea", "sentry")
    ]
    # the pages' port; the CI dry-run runs the steps on a free one and says which (tests/test_workshop.py)
    chapter_02 = os.environ.get("CHAPTER_02_PORT", "").strip() or CHAPTER_02_PORT
    wanted.append(("chapter 02's server", f"http://127.0.0.1:{chapter_02}"))
    inbox = os.environ.get("INBOX_PORT", "").strip() or INBOX_PORT  # as chapter 10's steps.sh has it
    wanted.append(("chapter 10's Sentry inbox", f"http://127.0.0.1:{inbox}"))
    findings = []
    for what, url in wanted:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        name = f"port {port} ({what})"
        if not _busy(host, port):
            findings.append(Finding(name, True, "free"))
        elif _fleet_dev_answers(url):
            findings.append(Finding(name, True, "in use by a running fleet dev"))
        else:
            findings.append(Finding(name, False, "in use", f"ss -ltnp 'sport = :{port}'  # find it, stop it"))
    return findings


def optional_findings() -> list[Finding]:
    """What only later chapters (or some servers) need: reported, never a failure."""
    pg = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or (
        [Path(p)] if (p := shutil.which("initdb")) else []
    )
    docker = _version(["docker", "--version"]) if shutil.which("docker") else None
    chromium = next((c for c in ("chromium", "chromium-browser", "google-chrome") if shutil.which(c)), None)
    php = _version(["php", "--version"]) if shutil.which("php") else None
    return [
        Finding(
            "PostgreSQL (the db server)",
            bool(pg),
            str(pg[-1].parent) if pg else "not found",
            "" if pg else "sudo bash scripts/setup.d/20-postgres.sh",
        ),
        Finding(
            "PHP + MediaWiki (the wiki server)",
            php is not None,
            php or "not found",
            "" if php else "sudo bash scripts/setup.d/30-mediawiki.sh",
        ),
        Finding(
            "Docker (the deployment chapter)",
            docker is not None,
            docker or "not found",
            "" if docker else "https://docs.docker.com/engine/install/",
        ),
        Finding(
            "a browser (sign-in pages)",
            chromium is not None,
            chromium or "not found",
            "" if chromium else "sudo apt-get install -y chromium",
        ),
    ]
