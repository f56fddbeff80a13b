"""`uv run fleet new` end to end, in a scratch copy of this repository (issue 14, "done when"):

1. a step that fails (here the docs-snippets step, the last registration step) leaves nothing behind;
2. `fleet new demo --item thing` generates, registers and tests the server, after which the copy is
   ruff-clean and mypy-clean, the generated files are current (`fleet gateway kong --check`, the snippets
   check, the client configs), and the manifest, compose, client-CLI and registration tests pass with it;
3. `fleet new --update demo` brings a template change (committed after the render) into the server with
   copier's 3-way merge, keeps the team's own edit, leaves no `.rej` file, and the tests stay green.

The tests run in this order on one copy (each builds on the last). Everything runs offline from uv's cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from fleet_frontdoor.manifest import load_manifest
from fleet_frontdoor.scaffold import copy_repository

ROOT = Path(__file__).resolve().parents[1]
UV = os.environ.get("UV") or shutil.which("uv") or "uv"
# What the scratch copy's `uv run` must not inherit from this test run: our virtualenv, our manifest,
# our settings.
LEAKS = ("FLEET_", "SENTRY_", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTEST_", "PYTHONPATH")
GIT = {
    "GIT_AUTHOR_NAME": "team",
    "GIT_AUTHOR_EMAIL": "team@localhost",
    "GIT_COMMITTER_NAME": "team",
    "GIT_COMMITTER_EMAIL": "team@localhost",
}


def run(
    repo: Path, *command: str, ok: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(LEAKS)}
    done = subprocess.run(
        command,
        cwd=repo,
        env=base | GIT | {"UV_OFFLINE": "1", "UV_NO_PROGRESS": "1"} | (env or {}),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if ok:
        assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done


def fleet(repo: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """The command as a team runs it (`uv run` also checks the lock is current after `uv add`)."""
    return run(repo, UV, "run", "--locked", "fleet", *args, ok=ok)


def tool(
    repo: Path, name: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A tool of the copy's own virtualenv, without `uv run`'s lock check each time."""
    return run(repo, str(repo / ".venv" / "bin" / name), *args, env=env)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    scratch = copy_repository(ROOT, tmp_path_factory.mktemp("repo"))
    run(scratch, UV, "sync", "--locked", "--quiet")
    yield scratch
    shutil.rmtree(scratch, ignore_errors=True)


def test_a_failing_step_rolls_back_everything_fleet_new_touched(repo: Path) -> None:
    snippets = repo / "scripts" / "snippets.py"
    working = snippets.read_text(encoding="utf-8")
    snippets.write_text('raise RuntimeError("snippets: broken on purpose")\n', encoding="utf-8")
    try:
        done = fleet(repo, "new", "my-svc", "--item", "widget", ok=False)  # a hyphen: fleet_my_svc
    finally:
        snippets.write_text(working, encoding="utf-8")
    assert done.returncode == 1
    # it got as far as the manifest, the workspace and the gateway files before the snippets step failed
    assert "✓ workspace member fleet-my-svc" in done.stdout, done.stdout
    assert "✓ regenerated" not in done.stdout
    assert "broken on purpose" in done.stderr
    assert "nothing was changed (every step was rolled back)" in done.stderr
    assert run(repo, "git", "status", "--porcelain", "--untracked-files=all").stdout == ""
    assert not (repo / "servers" / "my-svc").exists()
    python = str(repo / ".venv" / "bin" / "python")
    assert run(repo, python, "-c", "import fleet_my_svc", ok=False).returncode != 0  # uninstalled too


def test_fleet_new_demo_gives_a_registered_tested_server(repo: Path, tmp_path: Path) -> None:
    done = fleet(repo, "new", "demo", "--item", "thing")
    out = done.stdout
    for step in ("rendered template/server → servers/demo", "fleet.toml: [[servers]] demo at", "regenerated"):
        assert f"✓ {step}" in out, out
    assert "✓ pytest servers/demo: " in out, out  # the generated server's own tests, run by fleet new
    assert "done in " in out, out
    assert "Next: uv run fleet dev" in out, out

    # registered everywhere, with no hand edit
    assert 'name = "demo"' in (repo / "fleet.toml").read_text(encoding="utf-8")
    assert "mcp-demo" in (repo / "compose.yaml").read_text(encoding="utf-8")
    assert '"/mcp/demo"' in (repo / "gateway" / "kong.yml").read_text(encoding="utf-8")
    assert "`demo`" in (repo / "README.md").read_text(encoding="utf-8")
    for config in ("vscode", "claude"):
        generated = repo / "client" / "mcp-configs" / f"{config}.mcp.json"
        assert "fleet-demo" in generated.read_text(encoding="utf-8")
    listed = tool(repo, "fleet-client", "servers", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert "demo" in listed.stdout

    # the copy is as clean as the repository: lint, types, generated files, snippets
    run(repo, "git", "add", "-A")
    tool(repo, "ruff", "check", ".")
    tool(repo, "ruff", "format", "--check", ".")
    tool(repo, "mypy", "servers/demo")  # strict, as the repository's mypy config says
    tool(repo, "fleet", "gateway", "kong", "--check")
    tool(repo, "python", "scripts/snippets.py")
    # the tests that read the manifest, with the new server in it (other servers' cases are run by the
    # repository's own suite; db's PostgreSQL provisioning doesn't involve the new server)
    files = [
        "frontdoor/tests/test_compose.py",
        "frontdoor/tests/test_manifest.py",
        "client/tests/test_client_cli.py",
        "tests/test_docs_snippets.py",
        "tests/test_server_registration.py",
    ]
    collected = tool(repo, "pytest", "--collect-only", "-q", *files).stdout.splitlines()
    others = [s.name for s in load_manifest(repo / "fleet.toml").servers if s.name != "demo"]
    chosen = [
        test
        for test in collected
        if "::" in test and not any(f"[{name}" in test for name in others) and "real_postgresql" not in test
    ]
    assert any("[demo" in test for test in chosen), chosen
    result = tool(repo, "pytest", "-q", "-p", "no:cacheprovider", *chosen)
    assert "failed" not in result.stdout, result.stdout
    run(repo, "git", "commit", "-qm", "fleet new demo --item thing")


def test_an_update_brings_template_changes_and_keeps_the_teams_edits(repo: Path) -> None:
    assert (repo / "servers" / "demo" / ".copier-answers.yml").is_file(), "run after the generation test"
    ops = repo / "servers" / "demo" / "src" / "fleet_demo" / "ops.py"
    ops.write_text(ops.read_text(encoding="utf-8") + "\n\nTEAM_EDIT = 1  # ours\n", encoding="utf-8")
    run(repo, "git", "commit", "-qam", "our own change")
    settings = repo / "template" / "server" / "src" / "{{ package }}" / "settings.py.jinja"
    field = '    page_size: int = Field(default=20, ge=1, le=100, description="{{ items }} per page.")\n'
    settings.write_text(settings.read_text(encoding="utf-8") + field, encoding="utf-8")
    run(repo, "git", "commit", "-qam", "template: a page_size setting")

    done = fleet(repo, "new", "--update", "demo")
    assert "✓ updated servers/demo from the template" in done.stdout, done.stdout
    demo = repo / "servers" / "demo"
    assert not list(demo.rglob("*.rej")), "a hunk was rejected"
    updated = (demo / "src" / "fleet_demo" / "settings.py").read_text(encoding="utf-8")
    assert 'page_size: int = Field(default=20, ge=1, le=100, description="things per page.")' in updated
    assert "TEAM_EDIT = 1  # ours" in ops.read_text(encoding="utf-8")
    head = run(repo, "git", "rev-parse", "--short", "HEAD").stdout.strip()
    # YAML quotes a short hash that is all digits ('8134378'), so the answers are read as YAML
    answers = yaml.safe_load((demo / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["_commit"] == head
    tests = tool(repo, "pytest", "-q", "-p", "no:cacheprovider", "servers/demo")
    assert "failed" not in tests.stdout, tests.stdout
    tool(repo, "ruff", "check", "servers/demo")
