"""The workshop engine (`fleet workshop …`) on a small made-up workshop: chapters.toml, computed chapter
states, catch-up with its backup, the check runner and its hints, the language, the doctor's port check.
The real chapters are tested in tests/test_workshop.py."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fleet_frontdoor.cli import main
from fleet_frontdoor.workshop import (
    WorkshopError,
    catch_up,
    changed,
    end_state,
    load_workshop,
    start_state,
)
from fleet_frontdoor.workshop.chapter_checks import CHECKS
from fleet_frontdoor.workshop.chapters import timing
from fleet_frontdoor.workshop.checks import Check, CheckFailed, Hint, Target, run_checks
from fleet_frontdoor.workshop.cli import language
from fleet_frontdoor.workshop.doctor import port_findings
from fleet_frontdoor.workshop.states import solve

CHAPTERS = """
[[chapters]]
id = "00"
slug = "first"
title = "First"
title_zh_TW = "第一"
minutes = 10

[[chapters]]
id = "01"
slug = "second"
title = "Second"
title_zh_TW = "第二"
minutes = 15
needs = ["fleet-dev"]
solution_from = { "b.txt" = "src/b.txt" }
"""


HINTS = {"setup-doctor-saved": {"en": Hint("the title", "the hint"), "zh-TW": Hint("標題", "提示")}}


def make(root: Path, chapters: str = CHAPTERS) -> Path:
    (root / "workshop").mkdir(parents=True)
    (root / "workshop" / "chapters.toml").write_text(chapters)
    files = {
        "workshop/00-first/start/a.txt": "a0\n",
        "workshop/00-first/solution/a.txt": "a1\n# --8<-- [start:x]\nshown\n# --8<-- [end:x]\n",
        "workshop/01-second/start/c.txt": "c0\n",
        "src/b.txt": "b from the repo\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_chapter_starts_where_the_last_ended_and_only_changed_files_are_stored(tmp_path: Path) -> None:
    ws = load_workshop(make(tmp_path))
    first, second = ws.chapters
    assert second.needs == ("fleet-dev",)
    assert start_state(ws, first) == {"a.txt": b"a0\n"}
    assert end_state(ws, first) == {"a.txt": b"a1\nshown\n"}  # snippet markers are not the attendee's
    assert start_state(ws, second) == {"a.txt": b"a1\nshown\n", "c.txt": b"c0\n"}
    assert end_state(ws, second) == {"a.txt": b"a1\nshown\n", "c.txt": b"c0\n", "b.txt": b"b from the repo\n"}
    assert changed(ws, first, "a.txt").splitlines() == [
        "--- a/workshop/work/a.txt",
        "+++ b/workshop/work/a.txt",
        "@@ -1 +1,2 @@",
        "-a0",
        "+a1",
        "+shown",
    ]
    assert changed(ws, second, "b.txt").startswith("--- /dev/null\n+++ b/workshop/work/b.txt\n")
    assert ws.chapter("1") is second
    assert ws.chapter("second") is second
    with pytest.raises(WorkshopError, match="no chapter '07'"):
        ws.chapter("07")


def test_catch_up_backs_up_the_attendees_files_then_writes_the_start_state(tmp_path: Path) -> None:
    ws = load_workshop(make(tmp_path))
    work = tmp_path / "workshop" / "work"
    (work / "notes").mkdir(parents=True)
    (work / "a.txt").write_text("my own a\n")
    (work / "notes" / "mine.txt").write_text("keep me somewhere\n")
    (work / "doctor.json").write_text('{"result": "passed"}\n')
    done = catch_up(ws, ws.chapter("01"), now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert done.backup == tmp_path / ".fleet" / "workshop" / "backup-20260102T030405000000Z"
    assert (done.backup / "a.txt").read_text() == "my own a\n"
    assert (done.backup / "notes" / "mine.txt").read_text() == "keep me somewhere\n"
    assert sorted(done.written) == ["a.txt", "c.txt"]
    assert done.removed == ["notes/mine.txt"]
    assert (work / "a.txt").read_text() == "a1\nshown\n"
    assert not (work / "notes" / "mine.txt").exists()
    assert (work / "doctor.json").read_text() == '{"result": "passed"}\n'  # the machine's record stays
    again = catch_up(ws, ws.chapter("01"))
    assert again.backup is None  # already there: nothing to back up, nothing written
    assert (again.written, again.removed) == ([], [])
    solved = solve(ws, ws.chapter("01"))
    assert solved.written == ["b.txt"]


def test_chapters_toml_is_validated(tmp_path: Path) -> None:
    with pytest.raises(WorkshopError, match="needs"):
        load_workshop(make(tmp_path / "a", CHAPTERS.replace('"fleet-dev"', '"kubernetes"')))
    with pytest.raises(WorkshopError, match="in order"):
        load_workshop(make(tmp_path / "b", CHAPTERS.replace('id = "01"', 'id = "00"')))
    with pytest.raises(WorkshopError, match="id"):
        load_workshop(make(tmp_path / "c", CHAPTERS.replace('id = "01"', 'id = "1"')))
    with pytest.raises(WorkshopError, match="relative path inside the repo"):
        load_workshop(make(tmp_path / "d", CHAPTERS.replace('"b.txt" = ', '"../../b.txt" = ')))


DAYS = """
[[days]]
title = "half"
title_zh_TW = "半天"
last = "02"
start = "09:00"
breaks = { "01" = 15, "02" = 30 }

[[days]]
title = "full"
title_zh_TW = "一整天"
last = "04"
start = "13:30"
breaks = { "02" = 60, "04" = 15 }
"""

MORE = "".join(
    f'\n[[chapters]]\nid = "{n:02d}"\nslug = "c{n}"\ntitle = "C{n}"\ntitle_zh_TW = "C{n}"\nminutes = 20\n'
    for n in (2, 3)
)


def test_the_day_plans_are_computed_from_the_minutes_and_the_breaks(tmp_path: Path) -> None:
    bonus = '[[chapters]]\nid = "05"\nslug = "extra"\ntitle = "Extra"\ntitle_zh_TW = "加分"\n'
    bonus = "\n" + bonus + "minutes = 10\nbonus = true\n"
    ws = load_workshop(make(tmp_path, DAYS + CHAPTERS + MORE + bonus))
    rows = timing(ws, "en").splitlines()
    assert rows[0] == "| # | chapter | minutes | half | full |"
    assert rows[2:] == [
        "| 00 | [First](00-first/README.md) | 10 | the day before | the day before |",
        "| 01 | [Second](01-second/README.md) | 15 | 09:00 | 13:30 |",
        "| | break | | 09:15, 15 min | — |",
        "| 02 | [C2](02-c2/README.md) | 20 | 09:30 | 13:45 |",  # no break after a day's last chapter
        "| | break | | — | 14:05, 60 min |",
        "| 03 | [C3](03-c3/README.md) | 20 | — | 15:05 |",
        # 04 is not written yet: the full day ends after 03, without 03's nor 04's break
        "| 05 | [Extra](05-extra/README.md) | 10 | — | 15:25 (bonus, if time allows) |",
        "| | end | | 09:50 | 15:25 |",
        "| | minutes of chapters + breaks | | 35 + 15 | 55 + 60 |",
    ]
    chinese = timing(ws, "zh-TW")
    assert "| 01 | [第二](01-second/README.zh-TW.md) | 15 | 09:00 | 13:30 |" in chinese
    assert "| | 休息 | | 09:15, 15 分鐘 | — |" in chinese
    with pytest.raises(WorkshopError, match="last"):
        load_workshop(make(tmp_path / "bad", DAYS.replace('last = "02"', 'last = "two"') + CHAPTERS))


def test_the_checks_run_in_order_and_stop_at_the_first_failure(tmp_path: Path) -> None:
    seen: list[str] = []

    def ok(target: Target) -> None:
        seen.append("ok")

    def bad(target: Target) -> None:
        raise CheckFailed("expected x, found y")

    def never(target: Target) -> None:
        seen.append("never")

    results = run_checks((Check("a", ok), Check("b", bad), Check("c", never)), Target(tmp_path, tmp_path))
    assert [(r.id, r.ok, r.detail) for r in results] == [
        ("a", True, ""),
        ("b", False, "expected x, found y"),
        ("c", None, ""),
    ]
    assert seen == ["ok"]


@pytest.mark.parametrize(
    ("requested", "env", "expected"),
    [
        (None, {"LANG": "zh_TW.UTF-8"}, "zh-TW"),
        (None, {"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh-TW"),
        (None, {"LC_ALL": "en_US.UTF-8", "LANG": "zh_TW.UTF-8"}, "en"),
        (None, {"LANG": "zh_CN.UTF-8"}, "en"),
        (None, {}, "en"),
        ("zh-TW", {"LANG": "en_US.UTF-8"}, "zh-TW"),
        ("en", {"LANG": "zh_TW.UTF-8"}, "en"),
    ],
)
def test_the_language_comes_from_lang_or_the_locale(
    requested: str | None, env: dict[str, str], expected: str
) -> None:
    assert language(requested, env) == expected


def test_the_doctor_names_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))  # bound, not listening: busy, and nothing answers /healthz
        port = busy.getsockname()[1]
        (tmp_path / "fleet.toml").write_text(
            f'[gateway]\norigin = "http://127.0.0.1:{port}"\n[issuer]\nurl = "http://127.0.0.1:1"\n'
            '[[servers]]\nname = "gitea"\nupstream = "http://127.0.0.1:2"\nscopes = ["gitea:read"]\n'
        )
        findings = {f.name: f for f in port_findings(tmp_path)}
    gateway = findings[f"port {port} (the gateway)"]
    assert not gateway.ok
    assert gateway.found == "in use"
    assert str(port) in gateway.fix


def test_fleet_workshop_check_on_a_fresh_clone_fails_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(__file__).resolve().parents[2]
    fresh = load_workshop(root)
    assert fresh.chapters[1].id == "01"
    monkeypatch.chdir(root)
    monkeypatch.setattr("fleet_frontdoor.workshop.cli.WORK", "workshop/no-such-work")
    with pytest.raises(SystemExit) as exit_:
        main(["workshop", "check", "01", "--lang", "en"])
    out = capsys.readouterr().out
    assert exit_.value.code == 1
    assert "✗ workshop/work/hello.py has build_server()" in out
    assert "Run `uv run fleet workshop catch-up 01` to get the starter file" in out
    assert "workshop/work/hello.py does not exist" in out
    with pytest.raises(SystemExit):
        main(["workshop", "check", "01", "--lang", "zh-TW"])
    assert "執行 `uv run fleet workshop catch-up 01` 取得起始檔案" in capsys.readouterr().out


def test_progress_shows_what_passed_and_the_next_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make(tmp_path)
    (tmp_path / ".fleet" / "workshop").mkdir(parents=True)
    (tmp_path / ".fleet" / "workshop" / "progress.json").write_text(json.dumps({"00": "2026-01-01T00:00:00"}))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["workshop", "--lang", "en"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "✓ 00  First  (10 min)" in out
    assert "· 01  Second  (15 min)" in out
    assert "Next: read workshop/01-second/README.md, then run `uv run fleet workshop check 01`" in out


def test_check_watch_checks_again_after_each_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make(tmp_path)
    monkeypatch.chdir(tmp_path)
    runs: list[str] = []

    def checks(target: Target) -> None:
        runs.append(target.work.name)
        if len(runs) < 2:
            raise CheckFailed("not yet")

    monkeypatch.setitem(CHECKS, "00", (Check("setup-doctor-saved", checks),))
    monkeypatch.setattr("fleet_frontdoor.workshop.cli.load_hints", lambda root: HINTS)
    changes: list[object] = [{("modified", "a.txt")}]
    monkeypatch.setattr("watchfiles.watch", lambda *paths: iter(changes))
    with pytest.raises(SystemExit) as exit_:
        main(["workshop", "check", "00", "--watch", "--lang", "en"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert runs == ["work", "work"]
    assert "✗ the title" in out
    assert "Watching workshop/work/" in out
    assert "All 1 checks passed." in out


def test_fleet_workshop_catch_up_says_where_the_backup_is_and_what_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make(tmp_path)
    (tmp_path / "workshop" / "work").mkdir()
    (tmp_path / "workshop" / "work" / "a.txt").write_text("mine\n")
    monkeypatch.chdir(tmp_path / "workshop")  # from a subfolder too
    with pytest.raises(SystemExit) as exit_:
        main(["workshop", "catch-up", "1", "--lang", "zh-TW"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "你原本的檔案備份在 .fleet/workshop/backup-" in out
    assert "wrote   workshop/work/c.txt" in out
    assert "workshop/work/ 已經是第 01 章（第二）的起點" in out
    with pytest.raises(SystemExit):
        main(["workshop", "catch-up", "01", "--solution", "--lang", "en"])
    out = capsys.readouterr().out
    assert "wrote   workshop/work/b.txt" in out
    assert "is now at the end of chapter 01 (Second)" in out
    with pytest.raises(SystemExit) as exit_:
        main(["workshop", "catch-up", "9"])
    assert exit_.value.code == 1
    assert "no chapter '9' (chapters: 00, 01)" in capsys.readouterr().out
