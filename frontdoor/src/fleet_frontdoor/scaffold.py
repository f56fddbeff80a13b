"""`fleet new`: a new server from the repository's template, registered everywhere — or nothing at all.

`create()` renders `template/server/` (copier; root `copier.yml`) into `servers/<name>/` and does every
step a hand-made server needs, in order: the `fleet.toml` entry (tomlkit, so comments and layout stay)
with the next free upstream port and the new scopes for the dev users and client-credentials clients;
the workspace member (`uv add`) and mypy's source path; every file generated from the manifest
(`fleet gateway kong`'s, the client configs, the docs snippets); then the new server's lint and tests.
If any step fails, every file it touched is put back as it was and the server folder is removed.

`update()` applies later template changes to a generated server with copier's 3-way update.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import tomlkit
from tomlkit.items import AoT, Array, Table

from fleet_core import env_prefix, package_name

from .generate import GENERATED
from .generate import write as write_generated
from .manifest import Manifest, load_manifest

__all__ = [
    "CLIENT_CONFIGS",
    "RESERVED",
    "NewServer",
    "ScaffoldError",
    "copy_repository",
    "create",
    "next_port",
    "plan",
    "update",
]

NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
ITEM = re.compile(r"^[a-z][a-z0-9_]*$")
NAME_MAX, ITEM_MAX, DESCRIPTION_MAX = 20, 16, 200
# Names that already mean something in the fleet: the workspace packages (fleet-core, …), the compose
# services and networks (kong, authgate, authgate-backend …), and environment prefixes that other
# settings use (FLEET_GATEWAY_SECRET_*, FLEET_ISSUER_URL, FLEET_DEV_RUN, FLEET_POSTGRES_PASSWORD …).
RESERVED = frozenset(
    {"core", "frontdoor", "client", "gateway", "issuer", "kong", "authgate", "dev", "fleet", "mcp", "server"}
    | {"new", "stack", "template", "postgres", "mediawiki", "ci", "test", "tests", "testing"}
)
CLIENT_CONFIGS: tuple[Literal["vscode", "claude"], ...] = (
    "vscode",
    "claude",
)  # client/mcp-configs/<format>.mcp.json, `fleet-client config`


class ScaffoldError(Exception):
    """`fleet new` can't do what was asked; the message says why (nothing was left changed)."""


@dataclass(frozen=True)
class NewServer:
    name: str
    description: str
    item: str
    upstream: str

    @property
    def package(self) -> str:
        return package_name(self.name)

    @property
    def scopes(self) -> tuple[str, str]:
        return f"{self.name}:read", f"{self.name}:write"


def next_port(manifest: Manifest) -> int:
    """One above the highest upstream port in the manifest (8714 after 8710–8713), skipping the
    front door's own ports."""
    taken = {urlsplit(s.upstream).port or 80 for s in manifest.servers}
    taken |= {urlsplit(manifest.gateway.origin).port or 80, urlsplit(manifest.issuer.url).port or 80}
    port = max(taken) + 1
    while port in taken:
        port += 1
    return port


def plan(manifest: Manifest, root: Path, name: str, description: str | None, item: str) -> NewServer:
    """Validate the request against the manifest and the tree; ScaffoldError says what's wrong."""
    if not NAME.fullmatch(name) or len(name) > NAME_MAX:
        raise ScaffoldError(
            f"{name!r} is not a server name: up to {NAME_MAX} lowercase letters and digits, single hyphens "
            "between them, starting with a letter (e.g. notes, my-svc)"
        )
    if name in RESERVED:
        raise ScaffoldError(f"{name!r} is reserved in the fleet (taken: {', '.join(sorted(RESERVED))})")
    if any(s.name == name for s in manifest.servers):
        raise ScaffoldError(f"a server named {name!r} is already in fleet.toml")
    prefix = env_prefix(name)
    clash = [s.name for s in manifest.servers if env_prefix(s.name) == prefix]
    if clash:
        raise ScaffoldError(f"{name!r} has the settings prefix {prefix} of {clash[0]!r}")
    if (root / "servers" / name).exists():
        raise ScaffoldError(f"servers/{name} already exists")
    if not ITEM.fullmatch(item) or len(item) > ITEM_MAX:
        raise ScaffoldError(
            f"--item {item!r}: one lowercase noun of up to {ITEM_MAX} letters, digits or underscores "
            "(the tools become list_<item>s and add_<item>)"
        )
    text = description if description is not None else f"{name}: list and add {item}s, as the caller"
    text = text.strip().rstrip(".")
    if not text or len(text) > DESCRIPTION_MAX or not text.isprintable() or any(c in text for c in '"\\`'):
        raise ScaffoldError(
            f'--description: one line of up to {DESCRIPTION_MAX} printable characters without " \\ or `'
        )
    host = urlsplit(manifest.servers[0].upstream).hostname if manifest.servers else "127.0.0.1"
    return NewServer(name, text, item, f"http://{host}:{next_port(manifest)}")


@dataclass
class Undo:
    """What a step changed, so it can be put back: original file contents (None: the file was new) and
    folders that didn't exist."""

    root: Path
    files: dict[Path, bytes | None] = field(default_factory=dict)
    folders: list[Path] = field(default_factory=list)
    uninstall: str | None = None

    def keep(self, *paths: Path) -> None:
        for path in paths:
            if path not in self.files:
                self.files[path] = path.read_bytes() if path.is_file() else None

    def rollback(self) -> None:
        for folder in reversed(self.folders):
            shutil.rmtree(folder, ignore_errors=True)
        for path, content in self.files.items():
            if content is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(content)
        if self.uninstall:
            uninstall = [_uv(), "pip", "uninstall", "--python", sys.executable, self.uninstall]
            _run(uninstall, self.root, check=False)


def _uv() -> str:
    """The uv running us (it sets $UV for `uv run`), else the one on PATH."""
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        raise ScaffoldError("uv is needed to add the workspace member (https://docs.astral.sh/uv/)")
    return found


def _run(
    command: list[str], cwd: Path, *, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(  # noqa: S603 - fixed commands: our own interpreter, uv, ruff
        command, cwd=cwd, capture_output=True, text=True, check=False, env=env
    )
    if check and done.returncode != 0:
        shown = " ".join(Path(c).name if i == 0 else c for i, c in enumerate(command))
        raise ScaffoldError(f"`{shown}` failed:\n{(done.stdout + done.stderr).strip()[-3000:]}")
    return done


@contextlib.contextmanager
def _quiet_copier() -> Iterator[None]:
    # copier warns when the template has uncommitted changes (it renders them anyway); `create`
    # says what that means for updates instead.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _render(root: Path, new: NewServer, undo: Undo) -> str:
    import copier

    dst = root / "servers" / new.name
    dst.mkdir(parents=True)
    undo.folders.append(dst)
    data = {"name": new.name, "description": new.description, "item": new.item, "standalone": False}
    # Run from the new folder with a relative source, so `.copier-answers.yml` records `_src_path: ../..`
    # (portable: any clone of the repo can `--update`), not this machine's absolute path.
    with _quiet_copier(), contextlib.chdir(dst):
        copier.run_copy("../..", ".", data=data, defaults=True, quiet=True, vcs_ref="HEAD", unsafe=False)
    files = sum(1 for p in dst.rglob("*") if p.is_file())
    note = ""
    if _dirty(root, "template", "copier.yml"):
        note = " (template/ has uncommitted changes: commit them, or `--update` can't find this version)"
    return f"rendered template/server → servers/{new.name} ({files} files){note}"


def _dirty(root: Path, *paths: str) -> bool:
    done = _run(["git", "status", "--porcelain", "--", *paths], root, check=False)
    return bool(done.stdout.strip())


def _register_in_manifest(root: Path, new: NewServer, undo: Undo) -> str:
    path = root / "fleet.toml"
    undo.keep(path)
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    entry = tomlkit.table()
    entry.update({"name": new.name, "upstream": new.upstream, "scopes": list(new.scopes)})
    entry["description"] = new.description
    entry.add(tomlkit.nl())  # a blank line before the next table, like the entries above
    servers = doc["servers"]
    assert isinstance(servers, AoT)
    servers.append(entry)
    read, write = new.scopes
    granted = []
    dev = doc.get("dev")
    users = dev.get("users", []) if isinstance(dev, Table) else []
    others = [s["name"] for s in servers if s["name"] != new.name]
    for user in users:
        scopes = user["scopes"]
        assert isinstance(scopes, Array)
        # a user who may write to every server (alice) may write here too; everyone else reads
        writes_all = bool(others) and all(f"{o}:write" in scopes for o in others)
        added = [read, write] if writes_all else [read]
        scopes.extend(added)
        granted.append(f"{user['name']} +{' +'.join(added)}")
    for client in doc.get("clients", []):
        if "client_credentials" in client.get("grant_types", []):
            client_scopes = client.setdefault("scopes", tomlkit.array())
            client_scopes.append(read)  # a machine client reads; writing is granted by hand
            granted.append(f"{client['client_id']} +{read}")
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    load_manifest(path)  # fails here (and rolls back) rather than in a later step
    return f"fleet.toml: [[servers]] {new.name} at {new.upstream}; " + ", ".join(granted)


def _add_workspace_member(root: Path, new: NewServer, undo: Undo) -> str:
    project = root / "pyproject.toml"
    undo.keep(project, root / "uv.lock")
    _run([_uv(), "add", "--no-sync", f"fleet-{new.name}"], root)
    # the one list uv doesn't keep: mypy's source roots (no globs there; ruff finds packages by glob)
    doc = tomlkit.parse(project.read_text(encoding="utf-8"))
    tool = doc["tool"]
    assert isinstance(tool, Table)
    mypy_path = tool["mypy"]["mypy_path"]
    servers = [i for i, p in enumerate(mypy_path) if str(p).startswith("servers/")]
    mypy_path.insert(servers[-1] + 1 if servers else len(mypy_path), f"servers/{new.name}/src")
    project.write_text(tomlkit.dumps(doc), encoding="utf-8")
    _run([_uv(), "sync", "--locked", "--inexact"], root)
    undo.uninstall = f"fleet-{new.name}"
    return f"workspace member fleet-{new.name} (uv add; mypy_path += servers/{new.name}/src)"


def _regenerate(root: Path, new: NewServer, undo: Undo) -> str:
    from fleet_client.config import load_config
    from fleet_client.generate import dumps, mcp_json

    # `uv sync` installed the new package after this process started: read site-packages' .pth files
    # again, so its deploy hook (compose.yaml, .env.example) can be imported here
    site.addsitedir(sysconfig.get_paths()["purelib"])
    importlib.invalidate_caches()
    undo.keep(*(root / rel for rel in GENERATED))
    written = [str(p.relative_to(root)) for p in write_generated(load_manifest(root / "fleet.toml"), root)]
    # the editors' mcp.json from the manifest alone: a developer's own client config must not leak in
    with tempfile.TemporaryDirectory() as empty:
        config = load_config({"XDG_CONFIG_HOME": empty}, cwd=root, manifest=root / "fleet.toml")
    for fmt in CLIENT_CONFIGS:
        target = root / "client" / "mcp-configs" / f"{fmt}.mcp.json"
        undo.keep(target)
        text = dumps(mcp_json(config, fmt))
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            written.append(str(target.relative_to(root)))
    snippets = _load_script(root / "scripts" / "snippets.py")
    for markdown in snippets.markdown_files():
        undo.keep(markdown)
        if snippets.sync(markdown, True):
            written.append(str(markdown.relative_to(root)))
    return "regenerated " + ", ".join(written)


def _load_script(path: Path) -> Any:
    """A script of the repository (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(f"_fleet_new_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ScaffoldError(f"can't load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lint(root: Path, new: NewServer, undo: Undo) -> str:
    folder = f"servers/{new.name}"
    # The template is formatted for a short name; a long one may need lines re-wrapped.
    _run([sys.executable, "-m", "ruff", "format", "--quiet", folder], root)
    _run([sys.executable, "-m", "ruff", "check", "--quiet", folder], root)
    return f"ruff format + ruff check {folder}"


def _test(root: Path, new: NewServer, undo: Undo) -> str:
    done = _run([sys.executable, "-m", "pytest", f"servers/{new.name}", "-q", "-p", "no:cacheprovider"], root)
    summary = [line for line in done.stdout.splitlines() if " passed" in line]
    return f"pytest servers/{new.name}: {summary[-1].strip('= ') if summary else 'passed'}"


Step = Callable[[Path, NewServer, Undo], str]


def create(
    root: Path,
    name: str,
    *,
    description: str | None = None,
    item: str = "item",
    run_tests: bool = True,
    echo: Callable[[str], None] = print,
) -> float:
    """Generate and register `servers/<name>`; returns the seconds it took. On failure everything is
    put back and ScaffoldError is raised."""
    started = time.monotonic()
    root = root.resolve()
    if not (root / "template" / "server").is_dir() or not (root / "copier.yml").is_file():
        raise ScaffoldError(f"{root} has no template/server and copier.yml (run it in the mcp-fleet repo)")
    new = plan(load_manifest(root / "fleet.toml"), root, name, description, item)
    steps: list[Step] = [_render, _register_in_manifest, _add_workspace_member, _regenerate, _lint]
    if run_tests:
        steps.append(_test)
    undo = Undo(root)
    for step in steps:
        began = time.monotonic()
        try:
            echo(f"  ✓ {step(root, new, undo)} ({time.monotonic() - began:.1f} s)")
        except BaseException as exc:
            undo.rollback()
            if isinstance(exc, ScaffoldError):
                raise ScaffoldError(f"{exc}\nnothing was changed (every step was rolled back)") from exc
            if isinstance(exc, Exception | SystemExit):
                raise ScaffoldError(
                    f"{step.__name__.strip('_').replace('_', ' ')} failed: {exc.__class__.__name__}: {exc}\n"
                    "nothing was changed (every step was rolled back)"
                ) from exc
            raise
    return time.monotonic() - started


def update(root: Path, name: str, *, echo: Callable[[str], None] = print) -> float:
    """Apply the template's changes since `servers/<name>` was generated (copier update: a 3-way merge
    of the old render, the new render and your edits). Needs the server folder committed."""
    import copier

    started = time.monotonic()
    root = root.resolve()
    dst = root / "servers" / name
    if not (dst / ".copier-answers.yml").is_file():
        raise ScaffoldError(f"servers/{name} was not generated by `fleet new` (no .copier-answers.yml)")
    if _dirty(root, f"servers/{name}"):
        raise ScaffoldError(f"servers/{name} has uncommitted changes: commit them first (copier's rule)")
    try:
        with _quiet_copier(), contextlib.chdir(dst):
            copier.run_update(
                ".", defaults=True, overwrite=True, quiet=True, vcs_ref="HEAD", conflict="rej", unsafe=False
            )
    except Exception as exc:  # copier's own errors, and git's through plumbum: one readable line
        raise ScaffoldError(f"copier update failed: {exc.__class__.__name__}: {exc}".strip()) from exc
    rejected = sorted(str(p.relative_to(root)) for p in dst.rglob("*.rej"))
    if rejected:
        raise ScaffoldError(
            "the template's changes clash with yours in: "
            + ", ".join(rejected)
            + "\nmerge each hunk by hand, delete the .rej files, then run the tests"
        )
    _run([sys.executable, "-m", "ruff", "format", "--quiet", f"servers/{name}"], root)
    changed = _run(["git", "status", "--porcelain", "--", f"servers/{name}"], root).stdout.splitlines()
    echo(f"  ✓ updated servers/{name} from the template ({len(changed)} files changed; review with git diff)")
    return time.monotonic() - started


def copy_repository(root: Path, dst: Path) -> Path:
    """A scratch copy of the repository for trying `fleet new` (its tests and bench): the files git
    knows or would add, as they are in the working tree, committed in a fresh repository at `dst` (copier
    renders from git), without the virtualenv (`uv sync` there makes its own, offline from uv's cache)."""
    listed = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], root).stdout
    for rel in filter(None, listed.split("\0")):
        source = root / rel
        if source.is_file():  # a tracked file deleted in the working tree is left out
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dst / rel)
    env = os.environ | {
        "GIT_AUTHOR_NAME": "fleet",
        "GIT_AUTHOR_EMAIL": "fleet@localhost",
        "GIT_COMMITTER_NAME": "fleet",
        "GIT_COMMITTER_EMAIL": "fleet@localhost",
    }
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "scratch copy"]):
        _run(command, dst, env=env)
    return dst
