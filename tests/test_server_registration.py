"""Every server package under servers/ is registered everywhere a hand edit is still needed, and nothing
is registered that isn't there: the manifest, the root project (dependency, workspace source), mypy's
path, a `fleet dev` hook and a `--stdio` entry point (ruff finds them by a `src` glob). When `fleet new`
does the registering, this is what keeps it (and anyone editing by hand) honest."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fleet_core import package_name
from fleet_core.testing import manifest_servers

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p.name for p in (ROOT / "servers").iterdir() if (p / "pyproject.toml").is_file())
ROOT_PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def module(name: str) -> str:
    return package_name(name)


def test_the_manifest_lists_exactly_the_server_packages() -> None:
    assert sorted(manifest_servers(ROOT)) == PACKAGES


@pytest.mark.parametrize("name", PACKAGES)
def test_the_root_project_depends_on_the_server_from_the_workspace(name: str) -> None:
    assert f"fleet-{name}" in ROOT_PROJECT["project"]["dependencies"]
    assert ROOT_PROJECT["tool"]["uv"]["sources"][f"fleet-{name}"] == {"workspace": True}


def test_isort_and_mypy_know_exactly_the_workspace_packages() -> None:
    # the ruff src globs name every workspace package's src, and no list of packages is kept beside them
    ruff = ROOT_PROJECT["tool"]["ruff"]
    assert "servers/*/src" in ruff["src"]
    assert "known-first-party" not in ruff.get("lint", {}).get("isort", {})
    members = ROOT_PROJECT["tool"]["uv"]["workspace"]["members"]
    found = {p.parent.name for pattern in ruff["src"] for p in ROOT.glob(pattern + "/fleet_*/__init__.py")}
    expected = {m.name for pattern in members for m in ROOT.glob(pattern) if (m / "pyproject.toml").is_file()}
    assert {module(n) for n in PACKAGES} <= found
    assert len(found) == len(expected), (found, expected)
    server_paths = {p for p in ROOT_PROJECT["tool"]["mypy"]["mypy_path"] if p.startswith("servers/")}
    assert server_paths == {f"servers/{n}/src" for n in PACKAGES}


@pytest.mark.parametrize("name", PACKAGES)
def test_the_server_has_the_shape_every_server_has(name: str) -> None:
    src = ROOT / "servers" / name / "src" / module(name)
    # the one layout (the template generates it): backend.py the backend client, ops.py what the tools do
    for part in ("__init__.py", "__main__.py", "server.py", "settings.py", "dev.py", "backend.py", "ops.py"):
        assert (src / part).is_file(), f"servers/{name} has no {part}"
    main = (src / "__main__.py").read_text(encoding="utf-8")
    # HTTP and --stdio, settings and the stdio caller: the core's one entry point (fleet_core.server_main)
    assert "server_main(" in main, f"fleet-{name}'s __main__ does not use fleet_core.server_main"
    assert (ROOT / "servers" / name / "README.md").is_file()
    assert list((ROOT / "servers" / name / "tests").glob("test_*_contract.py")), f"{name} skips the contract"


@pytest.mark.parametrize("name", PACKAGES)
def test_the_server_leaves_retry_after_to_the_core(name: str) -> None:
    """One Retry-After parser and retry budget (fleet_core.RetryPolicy): no server reads the header itself
    (its labelled fake backend, which sends it, aside)."""
    src = ROOT / "servers" / name / "src" / module(name)
    for path in src.rglob("*.py"):
        if "fake" in path.relative_to(src).parts[0]:
            continue
        code = path.read_text(encoding="utf-8").lower()
        assert '"retry-after"' not in code, path
        assert "'retry-after'" not in code, path
