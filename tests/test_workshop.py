"""The workshop (workshop/): every chapter in both languages and in the same shape, every command and
code block from an executed or tested file, links and paths that resolve, translations in step with the
English, and each chapter proven both ways: its check fails on the chapter's start state and passes on
its end state. The attendee dry-run (every steps.sh in order, in a scratch copy) is at the end."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import pytest

from fleet_core.testing import free_port
from fleet_frontdoor.scaffold import copy_repository
from fleet_frontdoor.workshop import end_state, load_workshop, start_state, write_state
from fleet_frontdoor.workshop.chapter_checks import CHECKS
from fleet_frontdoor.workshop.chapters import Chapter, timing
from fleet_frontdoor.workshop.checks import LANGS, Target, load_hints, run_checks
from fleet_frontdoor.workshop.doctor import CHAPTER_02_PORT, INBOX_PORT, port_findings
from fleet_frontdoor.workshop.states import REPO, lay

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
try:
    import snippets
    import translations
finally:
    sys.path.remove(str(ROOT / "scripts"))

WS = load_workshop(ROOT)
SECTIONS = {
    "en": ["Goal", "Type this", "Check", "What just happened", "If it fails"],
    "zh-TW": ["目標", "動手做", "檢查", "剛剛發生了什麼", "常見問題"],
}
PAGE = {"en": "README.md", "zh-TW": "README.zh-TW.md"}
FENCE = re.compile(r"^(```+)[^\n]*\n.*?^\1\n", re.MULTILINE | re.DOTALL)
TOP_LEVEL = {
    "core",
    "frontdoor",
    "servers",
    "client",
    "scripts",
    "workshop",
    "docs",
    "gateway",
    "tests",
    "bench",
}


def pages() -> list[Path]:
    return sorted(
        p
        for p in (ROOT / "workshop").rglob("*.md")
        if "work" not in p.relative_to(ROOT).parts[1:2]
        and not {"start", "solution"} & set(p.relative_to(ROOT).parts[2:3])  # the attendee's files
    )


def chapter_ids() -> list[str]:
    return [c.id for c in WS.chapters]


# From the chapter that runs `fleet new` on, a chapter works on the attendee's own server in the repo:
# its states are proven both ways by the dry-run, in a scratch clone where `fleet new` really ran.
SCAFFOLD = next((c for c in WS.chapters if c.scaffold is not None), None)
ON_A_SERVER = WS.chapters[WS.chapters.index(SCAFFOLD) :] if SCAFFOLD else ()


def _generated(path: str) -> bool:
    """A path in the server `fleet new` makes in part B: it is in the template it is rendered from."""
    if SCAFFOLD is None or SCAFFOLD.scaffold is None:
        return False
    name = SCAFFOLD.scaffold.name
    if path != f"servers/{name}" and not path.startswith(f"servers/{name}/"):
        return False
    rel = path.removeprefix(f"servers/{name}").lstrip("/")
    rel = rel.replace(f"fleet_{name}", "{{ package }}").replace(
        f"test_{name}_", 'test_{{ name | replace("-", "_") }}_'
    )
    source = ROOT / "template" / "server" / rel
    return source.exists() or source.with_name(source.name + ".jinja").is_file()


def prose(text: str) -> str:
    return FENCE.sub("", text)


def test_chapters_toml_and_the_folders_agree() -> None:
    folders = sorted(
        p.name for p in (ROOT / "workshop").iterdir() if p.is_dir() and re.match(r"\d\d-", p.name)
    )
    assert folders == [f"{c.id}-{c.slug}" for c in WS.chapters]
    # part A and the scaffold chapters first; later chapters may land out of order (ids stay sorted)
    assert chapter_ids()[:8] == ["00", "01", "02", "03", "04", "05", "06", "07"]
    assert set(chapter_ids()) <= {f"{n:02d}" for n in range(14)}
    assert "13" in chapter_ids()
    for chapter in WS.chapters:
        folder = ROOT / chapter.folder
        assert {"README.md", "README.zh-TW.md", "steps.sh"} <= {p.name for p in folder.iterdir()}
        assert os.access(folder / "steps.sh", os.X_OK)
        assert set(p.name for p in folder.iterdir()) <= {
            "README.md",
            "README.zh-TW.md",
            "steps.sh",
            "start",
            "solution",
        }
        assert CHECKS.get(chapter.id), f"chapter {chapter.id} has no checks"
        assert 10 <= chapter.minutes <= 20


def test_every_check_has_a_title_and_a_hint_in_both_languages() -> None:
    hints = load_hints(ROOT)
    ids = [check.id for checks in CHECKS.values() for check in checks]
    assert len(ids) == len(set(ids))
    assert set(hints) == set(ids)
    for check in ids:
        for lang in LANGS:
            assert hints[check][lang].title.strip()
            assert hints[check][lang].hint.strip()


@pytest.mark.parametrize("chapter", WS.chapters, ids=lambda c: c.id)
@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_each_chapter_page_has_the_same_sections_in_the_same_order(chapter: Chapter, lang: str) -> None:
    text = (ROOT / chapter.folder / PAGE[lang]).read_text(encoding="utf-8")
    switch = "English | [繁體中文](README.zh-TW.md)" if lang == "en" else "[English](README.md) | 繁體中文"
    assert switch in text.splitlines()[:2]
    assert f"# {chapter.id} · {chapter.title_in(lang)}\n" in text
    assert re.findall(r"^## (.+)$", prose(text), re.MULTILINE) == SECTIONS[lang]


@pytest.mark.parametrize("chapter", WS.chapters, ids=lambda c: c.id)
def test_every_command_on_a_chapter_page_is_a_region_of_its_steps_sh(chapter: Chapter) -> None:
    steps = (ROOT / chapter.folder / "steps.sh").read_text(encoding="utf-8")
    regions = re.findall(r"# --8<-- \[start:([\w-]+)\]", steps)
    assert "check" in regions
    for shown in re.findall(r"# --8<-- \[start:[\w-]+\]\n(.*?)# --8<-- \[end:", steps, re.DOTALL):
        # what the attendee reads is what they type: no CI plumbing inside a region
        assert not re.search(r"\b(edit|wait_for_\w+|approve_\w+)\b|WORKSHOP_DRY_RUN", shown), shown
    for lang in ("en", "zh-TW"):
        text = (ROOT / chapter.folder / PAGE[lang]).read_text(encoding="utf-8")
        shown = re.findall(rf"<!-- snippet: {chapter.folder}/steps.sh#([\w-]+) -->", text)
        assert shown == regions, f"{lang}: every steps.sh region, in order, and nothing else"
        check_section = text.split(f"## {SECTIONS[lang][2]}\n")[1].split("\n## ")[0]
        assert (
            f"<!-- snippet: {chapter.folder}/steps.sh#check -->\n```bash\n"
            f"uv run fleet workshop check {chapter.id}\n```" in check_section
        )


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_code_block_comes_from_a_tested_file(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for block in FENCE.finditer(text):
        before = text[: block.start()].rstrip("\n").rsplit("\n", 1)[-1]
        assert before.startswith(("<!-- snippet: ", "<!-- snippet-diff: ")), (
            f"a code block typed by hand after: {before!r}"
        )


@pytest.mark.parametrize(
    "page", [p for p in pages() if not p.name.endswith(".zh-TW.md")], ids=lambda p: p.parent.name
)
def test_code_blocks_are_the_same_in_both_languages(page: Path) -> None:
    english = page.read_text(encoding="utf-8")
    chinese = translations.translation_of(page).read_text(encoding="utf-8")
    assert [m.group(0) for m in FENCE.finditer(english)] == [m.group(0) for m in FENCE.finditer(chinese)]
    markers = re.compile(r"<!-- snippet(?:-diff)?: [^>]+ -->")
    assert markers.findall(english) == markers.findall(chinese)


def _work_files() -> set[str]:
    return {
        f"workshop/work/{name}" for c in WS.chapters for name in end_state(WS, c) if not name.startswith(REPO)
    }


def _repo_files() -> set[str]:
    return {name for c in WS.chapters for name in end_state(WS, c) if name.startswith(REPO)}


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_backticked_repo_path_resolves(page: Path) -> None:
    text = prose(page.read_text(encoding="utf-8"))
    assert not re.search(r"#L\d+", text), "no line anchors: they rot"
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        path = target.split("#")[0]
        assert (page.parent / path).exists(), f"{page.relative_to(ROOT)}: link {target}"
    work = _work_files()
    for token in re.findall(r"`([^`\s]+)`", text):
        path = token.removeprefix("./").rstrip("/")
        if "/" not in path or path.split("/")[0] not in TOP_LEVEL or re.search(r"[<>*]|NN", path):
            continue
        if path.startswith("workshop/work"):
            assert path == "workshop/work" or path in work, (
                f"{page.relative_to(ROOT)}: {token} is in no chapter state"
            )
        elif path.startswith("servers/") and not (ROOT / path).exists():
            assert path in _repo_files() or _generated(path), (
                f"{page.relative_to(ROOT)}: `{token}` is neither made by `fleet new` nor in a chapter state"
            )
        else:
            assert (ROOT / path).exists(), f"{page.relative_to(ROOT)}: `{token}` does not exist"


def test_the_paths_the_hints_name_exist() -> None:
    text = (ROOT / "workshop" / "hints.toml").read_text(encoding="utf-8")
    work = _work_files()
    for path in set(re.findall(r"workshop/[\w./-]*\w", text)):
        assert (ROOT / path).exists() or path in work, path


def test_the_agenda_is_generated_from_chapters_toml_and_snippets_are_current() -> None:
    for lang, page in PAGE.items():
        text = (ROOT / "workshop" / page).read_text(encoding="utf-8")
        assert f"<!-- agenda: {lang} -->\n" in text
        for chapter in WS.chapters:
            assert f"[{chapter.title_in(lang)}]({chapter.id}-{chapter.slug}/{page})" in text
    stale = [item for page in pages() for item in snippets.sync(page, write=False)]
    assert stale == []


def test_the_instructors_day_plans_are_generated_from_chapters_toml() -> None:
    """INSTRUCTOR.md's timing table: the half day is 00-07, the full day 00-12 with 13 as its bonus; the
    table itself is kept current by the snippet check above (a chapter's minutes changed: it is stale)."""
    assert [(d.title, d.last) for d in WS.days] == [("half day (00–07)", "07"), ("full day (00–12)", "12")]
    assert [c.id for c in WS.chapters if c.bonus] == [c.id for c in WS.chapters if c.id == "13"]
    for lang, page in {"en": "INSTRUCTOR.md", "zh-TW": "INSTRUCTOR.zh-TW.md"}.items():
        text = (ROOT / "workshop" / page).read_text(encoding="utf-8")
        table = text.split(f"<!-- timing: {lang} -->\n")[1].split("<!-- /timing -->")[0]
        assert table == timing(WS, lang)
        for chapter in WS.chapters:
            assert f"| {chapter.id} | [{chapter.title_in(lang)}]" in table


def test_a_what_changed_diff_typed_by_hand_is_caught(tmp_path: Path) -> None:
    doc = ROOT / "tests" / f"_stale_diff_{tmp_path.name}.md"
    doc.write_text("<!-- snippet-diff: 01 hello.py -->\n```diff\n-typed by hand\n```\n")
    try:
        assert snippets.sync(doc, write=False) == [f"tests/{doc.name}: diff 01 hello.py"]
        assert snippets.sync(doc, write=True)
        assert snippets.sync(doc, write=False) == []
        assert '+        return Greeting(message=f"Hello, {name}!")' in doc.read_text()
    finally:
        doc.unlink()


def test_the_root_readme_links_the_workshop_in_both_languages() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(workshop/README.md)" in text
    assert "(workshop/README.zh-TW.md)" in text


def test_every_translation_is_current() -> None:
    found = [problem for page in translations.english_pages() for problem in translations.problems(page)]
    assert found == []
    assert len(translations.english_pages()) == len(WS.chapters) + 2  # + the index and INSTRUCTOR.md
    assert translations.main([]) == 0


def test_an_english_section_changed_without_its_translation_fails(tmp_path: Path) -> None:
    chapter = WS.chapters[1]
    folder = ROOT / chapter.folder
    copy = tmp_path / chapter.folder
    copy.mkdir(parents=True)
    shutil.copy(folder / "README.md", copy / "README.md")
    shutil.copy(folder / "README.zh-TW.md", copy / "README.zh-TW.md")
    english = (copy / "README.md").read_text(encoding="utf-8")
    assert translations.problems(copy / "README.md", root=tmp_path) == []
    (copy / "README.md").write_text(english.replace("## Goal\n\n", "## Goal\n\nA new first sentence. "))
    assert translations.problems(copy / "README.md", root=tmp_path) == [
        f"{chapter.folder}/README.zh-TW.md: section 'goal' changed in README.md since it was translated"
    ]
    (copy / "README.md").write_text(english.replace("## If it fails\n", "## If it fails\n\n### More\n"))
    assert any("headings" in p for p in translations.problems(copy / "README.md", root=tmp_path))
    translations.stamp(copy / "README.zh-TW.md")  # the translator's step, after updating the section
    (copy / "README.md").write_text(english)
    translations.stamp(copy / "README.zh-TW.md")
    assert translations.problems(copy / "README.md", root=tmp_path) == []
    (copy / "README.zh-TW.md").unlink()
    assert translations.problems(copy / "README.md", root=tmp_path) == [
        f"{chapter.folder}/README.zh-TW.md: missing (translate {chapter.folder}/README.md)"
    ]


def test_the_chinese_pages_follow_the_glossary() -> None:
    glossary = json.loads((ROOT / "workshop" / "glossary.zh-TW.json").read_text(encoding="utf-8"))
    problems = []
    for page in translations.english_pages():
        english = re.sub(r"`[^`]*`|\]\([^)]*\)|<!--.*?-->", "", prose(page.read_text(encoding="utf-8")))
        zh_page = translations.translation_of(page)
        chinese = re.sub(r"`[^`]*`|\]\([^)]*\)|<!--.*?-->", "", prose(zh_page.read_text(encoding="utf-8")))
        name = zh_page.relative_to(ROOT)
        problems += [f"{name}: avoid {word}" for word in glossary["avoid"] if word in chinese]
        for word in glossary["keep"]:
            if re.search(rf"\b{re.escape(word)}\b", english) and word not in chinese:
                problems.append(f"{name}: keep '{word}' in English")
        for word, rendering in glossary["terms"].items():
            if re.search(rf"\b{re.escape(word)}s?\b", english, re.IGNORECASE) and rendering not in chinese:
                problems.append(f"{name}: '{word}' is {rendering}")
        if re.search(r"\b你們\b|您", chinese):
            problems.append(f"{name}: address the reader as 你")
    assert problems == [], "\n".join(problems)


def test_what_fleet_workshop_prints_in_chinese_follows_the_glossary_too() -> None:
    from fleet_frontdoor.workshop.cli import TEXT

    avoid = json.loads((ROOT / "workshop" / "glossary.zh-TW.json").read_text(encoding="utf-8"))["avoid"]
    hints = load_hints(ROOT)
    texts = [h["zh-TW"].title + h["zh-TW"].hint for h in hints.values()] + list(TEXT["zh-TW"].values())
    assert [(word, text) for text in texts for word in avoid if word in text] == []
    assert TEXT["en"].keys() == TEXT["zh-TW"].keys()


def test_a_glossary_breach_is_caught() -> None:
    glossary = json.loads((ROOT / "workshop" / "glossary.zh-TW.json").read_text(encoding="utf-8"))
    assert {"服务器", "默认", "代码", "用户", "您"} <= set(glossary["avoid"])
    assert {"token", "scope", "gateway", "issuer"} <= set(glossary["keep"])
    assert glossary["terms"]["server"] == "伺服器"


# -- each chapter, both ways (the rustlings rule) --------------------------------------------------------


@pytest.mark.parametrize("chapter", [c for c in WS.chapters if c not in ON_A_SERVER], ids=lambda c: c.id)
def test_the_check_fails_on_the_start_state_and_passes_on_the_end_state(
    chapter: Chapter, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    write_state(work, start_state(WS, chapter))
    before = run_checks(CHECKS[chapter.id], Target(ROOT, work))
    assert any(r.ok is False for r in before), (
        f"chapter {chapter.id}'s check passes before the chapter is done"
    )
    write_state(work, end_state(WS, chapter))
    after = run_checks(CHECKS[chapter.id], Target(ROOT, work))
    assert [(r.id, r.ok, r.detail) for r in after] == [(r.id, True, "") for r in after]


def test_caught_up_to_chapter_05_the_tree_passes_chapter_04(tmp_path: Path) -> None:
    """The done-when line `fleet workshop catch-up 05 && fleet workshop check 04`, on the states."""
    assert end_state(WS, WS.chapter("04")).items() <= start_state(WS, WS.chapter("05")).items()
    write_state(tmp_path, start_state(WS, WS.chapter("05")))
    results = run_checks(CHECKS["04"], Target(ROOT, tmp_path))
    assert all(r.ok for r in results), results


def _attendee_tree(root: Path, state: dict[str, bytes]) -> None:
    """`state` laid in `root` as in the attendee's clone, for ruff: the repo's ruff settings, its
    first-party modules where the `src` globs find them (empty: ruff's import order asks only whether a
    module is there), the modules of the server `fleet new` made, then the state's files."""
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]["src"]
    modules = [
        module.relative_to(ROOT).as_posix()
        for pattern in globs
        for src in ROOT.glob(pattern)
        for module in src.rglob("*.py")
        if "__pycache__" not in module.parts
    ]
    if SCAFFOLD is not None and SCAFFOLD.scaffold is not None:
        name = SCAFFOLD.scaffold.name
        if any(path.startswith(f"servers/{name}/") for path in state):
            package = ROOT / "template" / "server" / "src" / "{{ package }}"
            modules += [
                f"servers/{name}/src/fleet_{name}/{m.name.removesuffix('.jinja')}"
                for m in package.glob("*.py*")
            ]
    for module in modules:
        (root / module).parent.mkdir(parents=True, exist_ok=True)
        (root / module).touch()
    lay(root, state)


def test_every_file_an_attendee_gets_is_ruff_clean_at_every_chapters_start_and_end(tmp_path: Path) -> None:
    """Each chapter's start and end state, laid as in the attendee's clone: `uv run ruff format --check .`
    and `ruff check .` there must not flag a file the workshop wrote (the snippet markers taken out of a
    solution file must not leave its blank lines behind). One ruff run of each over every state."""
    states: dict[frozenset[tuple[str, bytes]], str] = {}
    for chapter in WS.chapters:
        for kind, compute in (("start", start_state), ("end", end_state)):
            states.setdefault(frozenset(compute(WS, chapter).items()), f"{chapter.id}-{kind}")
    for files, folder in states.items():
        (tmp_path / folder).mkdir()
        _attendee_tree(tmp_path / folder, dict(files))
    python = [path for files in states for path, _ in files if path.endswith(".py")]
    assert any(path.startswith("servers/") for path in python)
    assert any(not path.startswith("servers/") for path in python)
    for command in (["format", "--check"], ["check"]):
        ran = _run([sys.executable, "-m", "ruff", *command, "--no-cache", "."], tmp_path, dict(os.environ))
        assert ran.returncode == 0, ran.stdout + ran.stderr


# -- the attendee dry-run ----------------------------------------------------------------------------------


def _scratch_manifest(path: Path) -> str:
    """The scratch copy's fleet on free ports (other fleets and tests may run on this machine), with
    only the servers part A uses: the others (db, wiki, any server added since) would start PostgreSQL,
    MediaWiki and more for nothing. Returns the gateway origin."""
    text = path.read_text(encoding="utf-8")
    for port in sorted(set(re.findall(r"127\.0\.0\.1:(87\d\d)", text))):
        text = text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{free_port()}")

    def only_part_a(block: re.Match[str]) -> str:
        body = re.sub(r"(?m)^enabled\s*=.*\n", "", block.group(2))
        name = re.search(r'(?m)^name\s*=\s*"([^"]+)"', body)
        off = "" if name and name.group(1) in ("gitea", "sentry") else "enabled = false\n"
        return block.group(1) + off + body

    text = re.sub(r"(?ms)^(\[\[servers\]\]\n)(.*?)(?=^\[|\Z)", only_part_a, text)
    manifest = tomllib.loads(text)
    assert [s["name"] for s in manifest["servers"] if s.get("enabled", True)] == ["gitea", "sentry"]
    path.write_text(text, encoding="utf-8")
    return str(manifest["gateway"]["origin"])


def _scratch_ports(scratch: Path) -> dict[str, str]:
    """The servers the chapters start by hand listen on the ports the pages name, which the attendee
    types as they are: 8720 (chapters 02 and 04) and 8790 (chapter 10's inbox). Another dry-run on this
    machine (another worktree's) may hold them, so the scratch copy's run uses free ones: the inbox's
    through INBOX_PORT, which chapter 10's steps honour, and 8720 replaced in the copy's steps.sh, as the
    fleet's ports are in its fleet.toml. The doctor checks the same ports (it reads both variables).
    Returns that environment."""
    port = str(free_port())
    rewritten = []
    for steps in sorted((scratch / "workshop").glob("*/steps.sh")):
        text = steps.read_text(encoding="utf-8")
        if str(CHAPTER_02_PORT) in text:
            steps.write_text(re.sub(rf"\b{CHAPTER_02_PORT}\b", port, text), encoding="utf-8")
            rewritten.append(steps.parent.name)
    assert rewritten, f"no chapter's steps.sh names port {CHAPTER_02_PORT}: update _scratch_ports"
    return {"CHAPTER_02_PORT": port, "INBOX_PORT": str(free_port())}


def test_the_dry_run_starts_no_server_on_a_port_the_pages_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two dry-runs at once (two worktrees) must not collide: every port a chapter's steps wait for is one
    the harness chose, and the doctor of chapter 00 checks those, not the pages' (which stay as they are)."""
    for steps in (ROOT / "workshop").glob("*/steps.sh"):
        (tmp_path / steps.relative_to(ROOT)).parent.mkdir(parents=True)
        shutil.copy(steps, tmp_path / steps.relative_to(ROOT))
    env = _scratch_ports(tmp_path)
    documented = {str(CHAPTER_02_PORT), str(INBOX_PORT)}
    waited = []
    for steps in sorted(tmp_path.glob("workshop/*/steps.sh")):
        text = re.sub(  # the shell's ${NAME:-default}, in the dry-run's environment
            r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m[1], m[2]), steps.read_text(encoding="utf-8")
        )
        assert not documented & set(re.findall(r"\b\d{4,5}\b", text)), steps.parent.name
        waited += re.findall(r'^wait_for_port "?(\d+)', text, re.MULTILINE)
    assert len(waited) >= 3  # chapter 02's server, chapter 04's twice, chapter 10's inbox
    assert set(waited) == {env["CHAPTER_02_PORT"], env["INBOX_PORT"]}
    assert (ROOT / "workshop/02-http/steps.sh").read_text(encoding="utf-8").count(f"{CHAPTER_02_PORT}") >= 3
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "fleet.toml").write_text(
        '[gateway]\norigin = "http://127.0.0.1:1"\n[issuer]\nurl = "http://127.0.0.1:2"\n'
        '[[servers]]\nname = "gitea"\nupstream = "http://127.0.0.1:3"\nscopes = ["gitea:read"]\n'
    )
    checked = {f.name for f in port_findings(tmp_path)}
    assert f"port {env['CHAPTER_02_PORT']} (chapter 02's server)" in checked
    assert f"port {env['INBOX_PORT']} (chapter 10's Sentry inbox)" in checked


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def _scratch_clone(tmp_path: Path) -> tuple[Path, dict[str, str], str]:
    """A scratch clone (a git repository: `fleet new` renders the template from git) with its own
    virtualenv (`fleet new` adds a workspace member to it), offline from uv's cache, on free ports.
    Returns (the clone, the attendee's environment, uv)."""
    scratch = copy_repository(ROOT, tmp_path / "clone")
    gateway = _scratch_manifest(scratch / "fleet.toml")
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "uv runs the attendee's commands"
    kept = ("UV_CACHE_DIR", "UV_PYTHON", "UV_PYTHON_INSTALL_DIR")
    env = {
        k: v
        for k, v in os.environ.items()
        if k in kept or not k.startswith(("FLEET_", "UV_", "VIRTUAL_ENV", "PYTEST_", "PYTHONPATH", "SENTRY_"))
    }
    env |= {
        "WORKSHOP_DRY_RUN": "1",
        "PATH": f"{Path(uv).parent}{os.pathsep}{env.get('PATH', '')}",
        "UV_OFFLINE": "1",
        "UV_NO_PROGRESS": "1",
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "LANG": "C.UTF-8",
        "GATEWAY": gateway,
    }
    env |= _scratch_ports(scratch)
    synced = _run([uv, "sync", "--locked", "--quiet"], scratch, env)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    return scratch, env, uv


def test_the_attendee_dry_run_runs_every_steps_sh_in_order_and_checks_after_each(tmp_path: Path) -> None:
    """Every chapter's steps.sh, in order, in a scratch clone. From the chapter that runs `fleet new` on,
    the chapter's check must also fail on its start state (after catch-up)."""
    scratch, env, uv = _scratch_clone(tmp_path)
    for chapter in WS.chapters:
        if chapter in ON_A_SERVER:
            _run([uv, "run", "fleet", "workshop", "catch-up", chapter.id], scratch, env)
            before = _run([uv, "run", "fleet", "workshop", "check", chapter.id], scratch, env)
            said = before.stdout + before.stderr
            assert before.returncode == 1, f"chapter {chapter.id}'s check passes before it is done:\n{said}"
            assert "✗" in before.stdout, said
        done = _run(["bash", f"{chapter.folder}/steps.sh"], scratch, env)
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"chapter {chapter.id}'s steps.sh failed:\n{output[-4000:]}"
        assert f"All {len(CHECKS[chapter.id])} checks passed" in done.stdout, output[-4000:]
    if SCAFFOLD is not None and SCAFFOLD.scaffold is not None:  # part B's server files, strict, in place
        typed = _run([uv, "run", "mypy", f"servers/{SCAFFOLD.scaffold.name}"], scratch, env)
        assert typed.returncode == 0, typed.stdout + typed.stderr
    assert (scratch / "workshop" / "work" / "doctor.json").is_file()
    assert json.loads((scratch / ".fleet" / "workshop" / "progress.json").read_text()).keys() == set(
        chapter_ids()
    )


def test_a_fresh_clone_caught_up_to_the_last_chapter_passes_the_check_of_the_one_before(
    tmp_path: Path,
) -> None:
    """Issue 16's done-when line `fleet workshop catch-up 13 && fleet workshop check 12`, on a fresh clone
    where no chapter was done: catch-up runs `fleet new` itself and lays every earlier chapter's files,
    and that tree passes the check of the last chapter of the full day. While part B's chapters are being
    written, the same for the last chapter there is and the one before it."""
    last, before = WS.chapters[-1], WS.chapters[-2]
    assert last.id == "13"
    assert last.bonus
    assert not before.bonus
    assert before.id == "12" or "12" not in chapter_ids()  # the full day's last, once it has landed
    scratch, env, uv = _scratch_clone(tmp_path)
    caught = _run([uv, "run", "fleet", "workshop", "catch-up", last.id], scratch, env)
    assert caught.returncode == 0, caught.stdout + caught.stderr
    assert (scratch / "servers" / "notes").is_dir()  # catch-up ran `fleet new notes`
    checked = _run([uv, "run", "fleet", "workshop", "check", before.id], scratch, env)
    said = checked.stdout + checked.stderr
    assert checked.returncode == 0, said
    assert f"All {len(CHECKS[before.id])} checks passed" in checked.stdout, said


def test_the_generated_files_a_chapter_starts_from_are_what_fleet_new_generates(tmp_path: Path) -> None:
    """A part-B chapter's start/ holds files of the server as `fleet new` makes them (so the chapter's
    "what changed" diff is computed): they must equal a fresh render of the template, or the template
    moved on and the chapter with it must be updated."""
    import copier

    from fleet_frontdoor.scaffold import NewServer

    assert SCAFFOLD is not None
    assert SCAFFOLD.scaffold is not None
    name, item = SCAFFOLD.scaffold.name, SCAFFOLD.scaffold.item
    new = NewServer(name, f"{name}: list and add {item}s, as the caller", item, "http://127.0.0.1:1")
    data = {"name": new.name, "description": new.description, "item": new.item, "standalone": False}
    with warnings.catch_warnings():  # copier warns that a dirty template's changes are included: wanted
        warnings.simplefilter("ignore")
        copier.run_copy(str(ROOT), str(tmp_path), data=data, defaults=True, quiet=True, unsafe=False)
    starters = [
        (chapter, name)
        for chapter in ON_A_SERVER
        for name in sorted(_overlay_names(ROOT / chapter.folder / "start"))
    ]
    assert starters, "part B's chapters start from generated files"
    for chapter, file in starters:
        rendered = tmp_path / file.removeprefix(f"servers/{name}/")
        assert start_state(WS, chapter)[file] == rendered.read_bytes(), f"{chapter.folder}/start/{file}"


def _overlay_names(folder: Path) -> list[str]:
    return [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]


def test_catch_up_past_the_scaffold_chapter_runs_fleet_new_once_and_lays_the_servers_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`fleet workshop catch-up 07` on a tree that never ran `fleet new`: it runs it (here a stand-in that
    registers the server, as the real one does), then writes the chapter's files at their repo paths."""
    from fleet_frontdoor import scaffold
    from fleet_frontdoor.workshop import Workshop, catch_up

    for folder in ("workshop", "core/examples"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("work"))
    shutil.copy(ROOT / "fleet.toml", tmp_path / "fleet.toml")
    made: list[tuple[str, str]] = []

    def fleet_new(root: Path, name: str, *, item: str, run_tests: bool) -> float:
        made.append((name, item))
        with (root / "fleet.toml").open("a", encoding="utf-8") as manifest:
            manifest.write(f'\n[[servers]]\nname = "{name}"\nupstream = "http://127.0.0.1:8799"\n')
            manifest.write(f'scopes = ["{name}:read", "{name}:write"]\n')
        return 0.0

    monkeypatch.setattr(scaffold, "create", fleet_new)
    assert SCAFFOLD is not None
    assert SCAFFOLD.scaffold is not None
    later = ON_A_SERVER[1]
    ws = Workshop(tmp_path, WS.chapters)
    done = catch_up(ws, later)
    assert made == [(SCAFFOLD.scaffold.name, SCAFFOLD.scaffold.item)]
    repo_files = [name for name in start_state(WS, later) if name.startswith(REPO)]
    assert repo_files
    assert set(repo_files) <= set(done.written)
    for name in repo_files:
        assert (tmp_path / name).read_bytes() == start_state(WS, later)[name]
    assert not (tmp_path / "workshop" / "work" / "servers").exists()  # repo files are not work files
    (tmp_path / repo_files[0]).write_text("the attendee's own edit\n", encoding="utf-8")
    again = catch_up(ws, later)
    assert made == [(SCAFFOLD.scaffold.name, SCAFFOLD.scaffold.item)]  # fleet.toml has it now: not again
    assert again.backup is not None
    assert (again.backup / repo_files[0]).read_text(encoding="utf-8") == "the attendee's own edit\n"
