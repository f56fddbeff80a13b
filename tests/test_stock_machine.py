"""The README's two commands on a machine that has only the system Python (issue 13, items 1–2).

A copy of the repo is run the way a new user runs it: PATH=/usr/sbin:/usr/bin:/sbin:/bin (no uv,
no other Python, no pip needed), a fresh HOME, the system /usr/bin/python3. `./scripts/dev` must
install uv, sync the workspace and bring the fleet up; `./scripts/try-fleet` must then print all
three steps; a new shell must find uv; a second `./scripts/dev` must not install uv again.
Only uv's download cache is shared with this machine (UV_CACHE_DIR), so the sync takes seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from fleet_core.testing import free_port

ROOT = Path(__file__).resolve().parents[1]
STOCK_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
SKIP = (
    ".git",
    ".venv",
    ".fleet",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
)
# what a machine behind a TLS-inspecting proxy or with a local index needs to reach PyPI at all
PASS_THROUGH: tuple[str, ...] = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
)
PASS_THROUGH += ("no_proxy", "NO_PROXY", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "PIP_INDEX_URL", "LANG")


def _uv_cache() -> str | None:
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        return None
    found = subprocess.run([uv, "cache", "dir"], capture_output=True, text=True, check=False)
    return found.stdout.strip() or None


@pytest.fixture
def stock(tmp_path: Path) -> tuple[Path, dict[str, str], dict[str, int]]:
    """A copy of the repo on fresh ports, and the environment of a stock machine with a fresh HOME."""
    repo = tmp_path / "mcp-fleet"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(*SKIP), symlinks=True)
    # the conformance suite's npm packages are not what this test is about: reuse them (scripts/setup.d)
    modules = ROOT / "client" / "conformance" / "node_modules"
    if modules.is_dir():
        (repo / "client" / "conformance" / "node_modules").symlink_to(modules)
    manifest = (repo / "fleet.toml").read_text()
    data = tomllib.loads(manifest)
    # every listener of the manifest (gateway, issuer, each server's upstream) moves to a fresh port
    origins = {"gateway": data["gateway"]["origin"], "issuer": data["issuer"]["url"]}
    origins |= {s["name"]: s["upstream"] for s in data["servers"]}
    ports = {name: free_port() for name in origins}
    for name, url in origins.items():
        default = urlsplit(url).port
        manifest = manifest.replace(f"127.0.0.1:{default}", f"127.0.0.1:{ports[name]}")
    (repo / "fleet.toml").write_text(manifest)
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": STOCK_PATH, "TERM": "dumb"}
    env |= {k: os.environ[k] for k in PASS_THROUGH if k in os.environ}
    cache = _uv_cache()
    if cache:
        env["UV_CACHE_DIR"] = cache
    return repo, env, ports


def _dev_until_ready(repo: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        ["./scripts/dev"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    seen = ""
    for line in process.stdout:
        seen += line
        if line.startswith("fleet dev: ready in"):
            return process, seen
    process.wait()
    process.stdout.close()
    pytest.fail("./scripts/dev exited before it was ready:\n" + seen)


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    try:
        rest, _ = process.communicate(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    return rest


def test_the_readme_commands_work_with_only_the_system_python(
    stock: tuple[Path, dict[str, str], dict[str, int]],
) -> None:
    repo, env, ports = stock
    home = Path(env["HOME"])
    assert Path("/usr/bin/python3").is_file()
    assert shutil.which("uv", path=STOCK_PATH) is None  # a machine without uv
    process, shown = _dev_until_ready(repo, env)
    try:
        assert "installing uv" in shown
        assert "not ready" not in shown, shown
        assert "failed" not in shown, shown
        assert (home / ".local" / "bin" / "uv").is_file()
        # the venv is built on the system Python, not on whatever the test runs under
        cfg = (repo / ".venv" / "pyvenv.cfg").read_text()
        assert re.search(r"^home = /usr/bin$", cfg, re.MULTILINE), cfg

        # the second terminal: try-fleet, run from the same stock environment
        tried = subprocess.run(
            ["./scripts/try-fleet"],
            cwd=repo,
            env=env | {"GATEWAY": f"http://127.0.0.1:{ports['gateway']}"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert tried.returncode == 0, tried.stdout + tried.stderr
        for step in ("# 1.", "# 2.", "# 3."):
            assert step in tried.stdout
        assert "HTTP/1.1 401" in tried.stdout
        assert '"account":"alice"' in tried.stdout.replace(" ", "")  # subject: alice's UUID (AuthGate-shaped)
    finally:
        rest = _stop(process)
    assert "fleet dev: stopped" in rest

    # the next shell, interactive or login, finds uv without anyone touching PATH
    for flags in ("-ic", "-lc"):
        found = subprocess.run(
            ["bash", flags, "command -v uv"], env=env, capture_output=True, text=True, check=False, timeout=30
        )
        assert found.stdout.strip() == str(home / ".local" / "bin" / "uv"), found.stderr

    # a later run (from that same old terminal, PATH unchanged) does not install uv again
    process, shown = _dev_until_ready(repo, env)
    _stop(process)
    assert "installing uv" not in shown
    assert "uv: found" in shown
    assert (home / ".bashrc").read_text().count("mcp-fleet: uv lives in") == 1


# ------------------------------------------------------------------ the dev container (macOS, Windows)

DEVCONTAINER_KEYS = {  # the properties of the Dev Container spec (containers.dev/implementors/json_reference)
    "name", "image", "build", "features", "forwardPorts", "portsAttributes", "otherPortsAttributes",
    "containerEnv", "remoteEnv", "containerUser", "remoteUser", "updateRemoteUserUID", "userEnvProbe",
    "overrideCommand", "shutdownAction", "init", "privileged", "capAdd", "securityOpt", "mounts", "runArgs",
    "workspaceMount", "workspaceFolder", "initializeCommand", "onCreateCommand", "updateContentCommand",
    "postCreateCommand", "postStartCommand", "postAttachCommand", "waitFor", "customizations",
    "hostRequirements",
}  # fmt: skip


def _devcontainer() -> dict[str, Any]:
    # strict JSON (no comments), so any JSON tool reads it
    config = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text(encoding="utf-8"))
    assert isinstance(config, dict)
    return config


def test_the_devcontainer_config_is_a_debian_image_running_the_repo_set_up() -> None:
    config = _devcontainer()
    assert set(config) <= DEVCONTAINER_KEYS
    image = config["image"]
    assert isinstance(image, str)
    assert image.rsplit(":", 1)[1] in ("bookworm", "trixie")  # Debian 12 or 13, like CI
    command = config["postCreateCommand"]
    assert isinstance(command, str)
    assert command == "./scripts/setup"
    assert os.access(ROOT / command, os.X_OK)
    manifest = tomllib.loads((ROOT / "fleet.toml").read_text())
    ports = {
        int(urlsplit(manifest[k]["origin" if k == "gateway" else "url"]).port or 80)
        for k in ("gateway", "issuer")
    }
    assert ports <= set(config["forwardPorts"])  # the browser sign-in reaches the issuer from the host
    for port, attributes in config.get("portsAttributes", {}).items():
        assert int(port) in config["forwardPorts"]
        assert set(attributes) <= {
            "label",
            "onAutoForward",
            "protocol",
            "requireLocalPort",
            "elevateIfNeeded",
        }


def test_the_devcontainer_set_up_command_prepares_a_stock_machine(
    stock: tuple[Path, dict[str, str], dict[str, int]],
) -> None:
    repo, env, _ = stock
    home = Path(env["HOME"])
    ran = subprocess.run(
        ["bash", "-c", _devcontainer()["postCreateCommand"]],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "installing uv" in ran.stderr
    assert "set up. Next: ./scripts/dev" in ran.stdout
    works = subprocess.run(
        ["bash", "-lc", "uv run --frozen python -c 'import fleet_core, fleet_client; print(\"ok\")'"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert works.stdout.strip() == "ok", works.stderr
    assert (home / ".local" / "bin" / "uv").is_file()
