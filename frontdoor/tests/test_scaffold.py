"""`fleet new`'s checks and its template, without a scratch repository (tests/test_template.py runs the
whole command in one): names, ports, the rendered layout, and a render that is ruff-clean for any name."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import pytest
import yaml

from fleet_core import env_prefix, package_name
from fleet_frontdoor.manifest import load_manifest
from fleet_frontdoor.scaffold import RESERVED, ScaffoldError, next_port, plan

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = load_manifest(ROOT / "fleet.toml")
# what every generated server has: the layout of PROTOCOL's "one server layout", at its smallest
LAYOUT = {
    ".copier-answers.yml",
    "README.md",
    "pyproject.toml",
    "src/{pkg}/__init__.py",
    "src/{pkg}/__main__.py",
    "src/{pkg}/backend.py",
    "src/{pkg}/deploy.py",
    "src/{pkg}/dev.py",
    "src/{pkg}/fake.py",
    "src/{pkg}/models.py",
    "src/{pkg}/ops.py",
    "src/{pkg}/server.py",
    "src/{pkg}/settings.py",
    "tests/conftest.py",
    "tests/test_{mod}_contract.py",
    "tests/test_{mod}_tools.py",
}


def test_a_hyphenated_name_gives_one_package_and_one_env_prefix(tmp_path: Path) -> None:
    new = plan(MANIFEST, tmp_path, "my-svc", None, "note")
    assert new.package == "fleet_my_svc"
    assert new.scopes == ("my-svc:read", "my-svc:write")
    assert env_prefix(new.name) == "FLEET_MY_SVC_"
    assert new.description == "my-svc: list and add notes, as the caller"


@pytest.mark.parametrize(
    "name", ["", "Demo", "1abc", "my_svc", "my--svc", "-x", "x-", "über", "a b", "a" * 21, "../etc"]
)
def test_a_bad_name_is_refused_saying_what_a_name_is(name: str, tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="is not a server name: up to 20 lowercase letters"):
        plan(MANIFEST, tmp_path, name, None, "item")


@pytest.mark.parametrize("name", sorted(RESERVED))
def test_a_reserved_name_is_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="is reserved in the fleet"):
        plan(MANIFEST, tmp_path, name, None, "item")


@pytest.mark.parametrize("name", [s.name for s in MANIFEST.servers])
def test_a_server_already_in_the_manifest_is_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match=f"a server named '{name}' is already in fleet.toml"):
        plan(MANIFEST, tmp_path, name, None, "item")


def test_an_existing_folder_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "servers" / "notes").mkdir(parents=True)
    with pytest.raises(ScaffoldError, match="servers/notes already exists"):
        plan(MANIFEST, tmp_path, "notes", None, "item")


@pytest.mark.parametrize("item", ["", "Thing", "2nd", "thing-x", "a" * 17])
def test_a_bad_item_is_refused(item: str, tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="--item"):
        plan(MANIFEST, tmp_path, "notes", None, item)


@pytest.mark.parametrize("description", ["", "   ", 'say "hi"', "back\\slash", "two\nlines", "x" * 201])
def test_a_description_that_would_break_a_generated_file_is_refused(description: str, tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="--description"):
        plan(MANIFEST, tmp_path, "notes", description, "item")


def test_the_next_upstream_port_is_the_first_free_one_after_the_servers() -> None:
    ports = sorted(int(s.upstream.rsplit(":", 1)[1]) for s in MANIFEST.servers)
    assert next_port(MANIFEST) == ports[-1] + 1
    assert plan(MANIFEST, Path("/nonexistent"), "notes", None, "item").upstream.endswith(f":{ports[-1] + 1}")


def test_the_template_runs_no_code_so_trust_is_never_needed() -> None:
    config = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
    assert config["_subdirectory"] == "template/server"
    assert not {"_tasks", "_migrations", "_jinja_extensions"} & set(config)


def _render(tmp_path: Path, name: str, item: str, description: str | None = None) -> Path:
    """Render the template as `fleet new` does (without the registration), from a plain copy of it."""
    import copier

    source = tmp_path / "source"
    shutil.copytree(ROOT / "template", source / "template")
    shutil.copy(ROOT / "copier.yml", source / "copier.yml")
    data = {"name": name, "item": item} | ({"description": description} if description else {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # copier's own deprecations are not this test's business
        copier.run_copy(str(source), tmp_path / name, data=data, defaults=True, quiet=True, unsafe=False)
    return tmp_path / name


@pytest.mark.parametrize(
    ("name", "item", "description"),
    [
        ("demo", "thing", None),
        # the longest name and item allowed, and a description that has to be wrapped
        ("abcdefghij-klmnopqrs", "abcdefghijklmnop", "A long line about what it does " * 6),
    ],
)
def test_the_render_has_the_server_layout_and_is_ruff_clean(
    tmp_path: Path, name: str, item: str, description: str | None
) -> None:
    out = _render(tmp_path, name, item, description)
    pkg = package_name(name)  # copier.yml's `package` must spell it as the core does
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert files == {f.format(pkg=pkg, mod=name.replace("-", "_")) for f in LAYOUT}
    answers = yaml.safe_load((out / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["name"] == name
    assert answers["item"] == item
    # as `fleet new` does: format (a long name re-wraps lines), then lint with the repo's rules
    ruff = [sys.executable, "-m", "ruff"]
    first_party = f"lint.isort.known-first-party=['fleet_core', '{pkg}']"
    subprocess.run([*ruff, "format", "--quiet", str(out)], cwd=ROOT, check=True)
    lint = subprocess.run(
        [*ruff, "check", "--config", first_party, str(out)], cwd=ROOT, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout
    settings = (out / "src" / pkg / "settings.py").read_text(encoding="utf-8")
    assert f'NAME = "{name}"' in settings
    assert "env_prefix=PREFIX" in settings  # the one prefix, from fleet_core.env_prefix


def test_a_standalone_render_takes_fleet_core_from_git_and_brings_its_test_tools(tmp_path: Path) -> None:
    import copier

    source = tmp_path / "source"
    shutil.copytree(ROOT / "template", source / "template")
    shutil.copy(ROOT / "copier.yml", source / "copier.yml")
    data = {"name": "notes", "item": "note", "standalone": True, "fleet_core_git": "git+https://x.test/f@v1"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_copy(str(source), tmp_path / "notes", data=data, defaults=True, quiet=True, unsafe=False)
    project = tomllib.loads((tmp_path / "notes" / "pyproject.toml").read_text(encoding="utf-8"))
    assert "fleet-core @ git+https://x.test/f@v1#subdirectory=core" in project["project"]["dependencies"]
    assert "sources" not in project.get("tool", {}).get("uv", {})  # no workspace outside the monorepo
    dev = project["dependency-groups"]["dev"]
    assert "fleet-frontdoor @ git+https://x.test/f@v1#subdirectory=frontdoor" in dev
    pytest_config = project["tool"]["pytest"]["ini_options"]
    # the one async mode fleet_core.testing.plugin insists on; an unset fixture loop scope warns (fatal here)
    assert pytest_config["asyncio_mode"] == "auto"
    assert pytest_config["asyncio_default_fixture_loop_scope"] == "function"
    assert "no:anyio" in pytest_config["addopts"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["new", "My_Svc"], "fleet new: 'My_Svc' is not a server name"),
        (["new", "db"], "fleet new: a server named 'db' is already in fleet.toml"),
        (["new", "gateway"], "fleet new: 'gateway' is reserved in the fleet"),
        (["new", "notes", "--item", "Note"], "fleet new: --item 'Note'"),
        (["new", "--update", "db"], "fleet new: servers/db was not generated by `fleet new`"),
    ],
)
def test_the_command_refuses_clearly_and_changes_nothing(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from fleet_frontdoor.cli import main

    before = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    with pytest.raises(SystemExit) as exited:
        main(["--manifest", str(ROOT / "fleet.toml"), *argv])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(message), err
    assert "Traceback" not in err
    after = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    assert after == before
