"""The deploy hook: `fleet_<name>.deploy.backend()` by the server's name; absent → None, broken → loud."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet_core import package_name
from fleet_core.deploy import Backend, hook, optional, required


@pytest.fixture
def packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path for throwaway `fleet_<name>` packages (removed from sys.modules afterwards)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("fleet_hook_"):
            del sys.modules[name]


def _package(root: Path, name: str, deploy: str | None) -> None:
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    if deploy is not None:
        (pkg / "deploy.py").write_text(deploy)


def test_a_hyphenated_name_finds_the_underscored_package(packages: Path) -> None:
    assert package_name("hook-ok") == "fleet_hook_ok"
    _package(
        packages,
        "fleet_hook_ok",
        "from fleet_core.deploy import Backend\n"
        "def backend():\n    return Backend(env={'FLEET_HOOK_OK_URL': 'x'})\n",
    )
    assert hook("hook-ok") == Backend(env={"FLEET_HOOK_OK_URL": "x"})


def test_no_package_or_no_deploy_module_is_no_backend(packages: Path) -> None:
    _package(packages, "fleet_hook_bare", None)
    assert hook("hook-bare") is None
    assert hook("hook-not-installed") is None


def test_a_hook_whose_own_import_fails_is_not_taken_for_no_hook(packages: Path) -> None:
    _package(packages, "fleet_hook_broken", "import fleet_hook_missing_dependency\n")
    with pytest.raises(ModuleNotFoundError, match="fleet_hook_missing_dependency"):
        hook("hook-broken")


def test_a_hook_that_returns_something_else_is_refused(packages: Path) -> None:
    _package(packages, "fleet_hook_wrong", "def backend():\n    return {'env': {}}\n")
    with pytest.raises(TypeError, match=r"not a deploy\.Backend"):
        hook("hook-wrong")


def test_a_network_only_when_something_is_on_it_or_the_outside_is_reached() -> None:
    assert not Backend().has_network
    assert not Backend(env={"FLEET_X_MODE": "a"}).has_network
    assert Backend(internal=False).has_network
    assert Backend(services={"x": {}}).has_network
    assert Backend(jobs={"x-init": {}}).has_network


def test_references_never_carry_a_secret_default() -> None:
    assert required("FLEET_X_TOKEN", "a token") == "${FLEET_X_TOKEN:?a token}"
    assert optional("FLEET_X_URL", "https://x") == "${FLEET_X_URL:-https://x}"
