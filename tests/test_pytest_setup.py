"""One async test mode for the whole suite: pytest-asyncio in auto mode, configured once (issue 14 item 7)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Spelled in two parts so this file does not match its own search.
ANYIO_RUNNER = ("pytest.mark." + "anyio", "anyio" + "_backend")


def tracked(*patterns: str) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", *patterns], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [ROOT / name for name in listed.stdout.split("\0") if name]


async def test_an_unmarked_async_test_runs_on_pytest_asyncio(request: pytest.FixtureRequest) -> None:
    asyncio.get_running_loop()
    assert request.node.get_closest_marker("asyncio") is not None  # auto mode marked it
    assert request.config.pluginmanager.has_plugin("asyncio")
    assert not request.config.pluginmanager.has_plugin("anyio")


def test_the_async_mode_is_configured_once_in_the_root_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert config["asyncio_mode"] == "auto"
    assert config["asyncio_default_fixture_loop_scope"] == "function"
    assert "no:anyio" in config["addopts"]
    assert config["filterwarnings"] == ["error"]
    # No second place that could configure pytest (a package's own pyproject, an ini file, a conftest).
    for path in tracked("pytest.ini", "**/pytest.ini", "tox.ini", "**/tox.ini", "setup.cfg", "**/setup.cfg"):
        pytest.fail(f"{path.relative_to(ROOT)}: pytest is configured in the root pyproject.toml only")
    for path in tracked("*/pyproject.toml", "**/pyproject.toml"):
        if path != ROOT / "pyproject.toml":
            assert "pytest" not in tomllib.loads(path.read_text()).get("tool", {}), path
    for path in tracked("conftest.py", "**/conftest.py"):
        assert "asyncio_mode" not in path.read_text(), path


def test_no_test_uses_the_anyio_runner() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {needle}"
        for path in tracked("*.py", "*.md", "*.jinja")
        if path != Path(__file__).resolve() and path.is_file()
        for needle in ANYIO_RUNNER
        if needle in path.read_text(errors="replace")
    ]
    assert offenders == [], "async tests run on pytest-asyncio: drop the marker/fixture (no marker needed)"


def test_a_stray_anyio_marker_is_an_error_not_a_test_run_elsewhere(tmp_path: Path) -> None:
    test = tmp_path / "test_stray.py"
    test.write_text(f"import pytest\n\n@{ANYIO_RUNNER[0]}\nasync def test_x() -> None:\n    pass\n")
    config = ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT)]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *config, str(test)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0, result.stdout
    assert "'anyio' not found in `markers`" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ("asyncio_mode=strict", 'set asyncio_mode = "auto"'),
        ("addopts=--import-mode=importlib -p fleet_core.testing.plugin", "add `-p no:anyio`"),
    ],
    ids=["strict-mode", "anyio-plugin-on"],
)
def test_fleet_cores_plugin_refuses_a_second_async_mode(tmp_path: Path, override: str, says: str) -> None:
    # fleet_core.testing.plugin runs in every fleet server's tests (a copied one's too): it checks the mode.
    test = tmp_path / "test_any.py"
    test.write_text("async def test_x() -> None:\n    pass\n")
    config = ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT), "-o", override]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *config, str(test)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "fleet tests run on pytest-asyncio (auto mode) only" in result.stderr
    assert says in result.stderr
