"""`fleet workshop …`: progress and the next command, check, catch-up, doctor, sentry-inbox."""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .chapter_checks import CHECKS
from .chapters import WORK, Chapter, Workshop, WorkshopError, load_workshop
from .checks import Result, Target, load_hints, run_checks
from .doctor import Finding, optional_findings, port_findings, required_findings
from .inbox import DEFAULT_PORT
from .states import REPO, catch_up, solve

__all__ = ["add_workshop_parser", "language"]

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "chapter": "Chapter {id} · {title}",
        "passed": "All {n} checks passed. Next: {next}",
        "failed": "{bad} of {n} checks did not pass. Fix the first ✗, then run `{cmd}` again.",
        "not_run": "not run: fix the check above first",
        "found": "found",
        "last": "That was the last chapter. Well done!",
        "next_chapter": "chapter {id}, {title}: read {folder}/README.md",
        "progress_next": "Next: read {folder}/README.md, then run `uv run fleet workshop check {id}`",
        "progress_done": "Every chapter passed.",
        "backup": "Your previous files are in {path}",
        "caught_up": "workshop/work/ is now at the start of chapter {id} ({title}). Read {folder}/README.md",
        "nothing": "nothing to change",
        "solved": "workshop/work/ is now at the end of chapter {id} ({title}): "
        "compare it with yours in the backup. {folder}/README.md",
        "watching": "Watching workshop/work/ (Ctrl-C to stop)…",
        "doctor": "fleet workshop doctor: this machine for the workshop",
        "required": "Required",
        "optional": "Optional (later chapters and some servers; not needed for chapters 00–05)",
        "fix": "fix",
        "doctor_ok": "Ready. Saved the report to workshop/work/doctor.json (chapter 00's check reads it).",
        "doctor_bad": "Not ready: run the fix commands above, then `uv run fleet workshop doctor` again.",
        "inbox_title": "fleet workshop sentry-inbox: a local Sentry inbox (no Sentry account needed)",
        "inbox_dsn": "Report to it: start your server with",
        "inbox_forward": "or watch what a test captures: FLEET_SENTRY_INBOX={dsn} uv run pytest …",
        "inbox_waiting": "Waiting for events (Ctrl-C to stop)…",
        "inbox_not_loopback": "fleet workshop sentry-inbox: {host} is not a loopback address. The inbox "
        "prints whatever is posted to it: it listens on 127.0.0.1 (or ::1) only.",
        "inbox_port_busy": "fleet workshop sentry-inbox: port {port} is taken ({error}): "
        "pass another with --port",
        "inbox_refused": "  refused: {detail}",
        "inbox_other": "[{stamp}] {type}: not an event (the SDK's own bookkeeping)",
        "inbox_exception": "exception",
        "inbox_message": "message",
        "inbox_user": "user",
        "inbox_arguments": "arguments",
        "inbox_secrets": "secrets",
        "inbox_no_arguments": "✓ none: no tool arguments or results, request body or stack-frame variables",
        "inbox_no_secrets": "✓ none: no Authorization, Cookie or gateway-secret header",
        "inbox_found": "✗ sent: {found}",
        "inbox_stopped": "Stopped: {n} envelopes received, {refused} requests refused.",
    },
    "zh-TW": {
        "chapter": "第 {id} 章 · {title}",
        "passed": "{n} 項檢查全部通過。下一步：{next}",
        "failed": "{n} 項檢查中有 {bad} 項未通過。先修正第一個 ✗，再執行一次 `{cmd}`。",
        "not_run": "未執行：請先修正上一項檢查",
        "found": "實際",
        "last": "這是最後一章了，做得好！",
        "next_chapter": "第 {id} 章「{title}」：請閱讀 {folder}/README.zh-TW.md",
        "progress_next": "下一步：閱讀 {folder}/README.zh-TW.md，再執行 `uv run fleet workshop check {id}`",
        "progress_done": "每一章都已通過。",
        "backup": "你原本的檔案備份在 {path}",
        "caught_up": "workshop/work/ 已經是第 {id} 章（{title}）的起點。請閱讀 {folder}/README.zh-TW.md",
        "nothing": "沒有需要變更的檔案",
        "solved": "workshop/work/ 已經是第 {id} 章（{title}）的終點："
        "可以和備份裡你自己的版本比較。{folder}/README.zh-TW.md",
        "watching": "正在監看 workshop/work/（按 Ctrl-C 結束）…",
        "doctor": "fleet workshop doctor：檢查這台電腦能否參加工作坊",
        "required": "必要",
        "optional": "選用（之後的章節與部分伺服器才需要；第 00–05 章不需要）",
        "fix": "修正",
        "doctor_ok": "準備完成。報告已存到 workshop/work/doctor.json（第 00 章的檢查會讀取它）。",
        "doctor_bad": "尚未準備好：請執行上面的修正指令，再執行一次 `uv run fleet workshop doctor`。",
        "inbox_title": "fleet workshop sentry-inbox：本機的 Sentry 收件匣（不需要 Sentry 帳號）",
        "inbox_dsn": "要回報到這裡：啟動你的伺服器時設定",
        "inbox_forward": "或是看測試攔截到的內容：FLEET_SENTRY_INBOX={dsn} uv run pytest …",
        "inbox_waiting": "等待事件中（按 Ctrl-C 結束）…",
        "inbox_not_loopback": "fleet workshop sentry-inbox：{host} 不是 loopback 位址。收件匣會印出別人送來的"
        "任何內容，所以只在 127.0.0.1（或 ::1）上接收。",
        "inbox_port_busy": "fleet workshop sentry-inbox：連接埠 {port} 已被占用（{error}）：用 --port 換一個",
        "inbox_refused": "  已拒絕：{detail}",
        "inbox_other": "[{stamp}] {type}：不是事件（SDK 自己的紀錄）",
        "inbox_exception": "例外",
        "inbox_message": "訊息",
        "inbox_user": "使用者",
        "inbox_arguments": "引數",
        "inbox_secrets": "機密",
        "inbox_no_arguments": "✓ 沒有：沒有工具的引數或結果、沒有 request body、沒有 stack frame 變數",
        "inbox_no_secrets": "✓ 沒有：沒有 Authorization、Cookie 或 gateway secret header",
        "inbox_found": "✗ 送出了：{found}",
        "inbox_stopped": "已停止：收到 {n} 個 envelope，拒絕了 {refused} 個請求。",
    },
}


def language(requested: str | None, environ: dict[str, str] | None = None) -> str:
    """`--lang` wins; otherwise zh-TW when the locale says zh_TW (LC_ALL, LC_MESSAGES, LANG, LANGUAGE)."""
    if requested:
        return "zh-TW" if requested.replace("_", "-").lower() == "zh-tw" else "en"
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        if value := env.get(var):
            return "zh-TW" if value.replace("-", "_").lower().startswith("zh_tw") else "en"
    return "en"


def _progress_file(ws: Workshop) -> Path:
    return ws.root / ".fleet" / "workshop" / "progress.json"


def _progress(ws: Workshop) -> dict[str, str]:
    try:
        data: Any = json.loads(_progress_file(ws).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _record(ws: Workshop, chapter: Chapter) -> None:
    progress = _progress(ws) | {chapter.id: datetime.now(UTC).isoformat(timespec="seconds")}
    path = _progress_file(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(progress, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _next(ws: Workshop, chapter: Chapter, lang: str) -> str:
    later = ws.chapters[ws.chapters.index(chapter) + 1 :]
    if not later:
        return TEXT[lang]["last"]
    after = later[0]
    return TEXT[lang]["next_chapter"].format(id=after.id, title=after.title_in(lang), folder=after.folder)


def print_results(ws: Workshop, chapter: Chapter, results: list[Result], lang: str) -> None:
    hints = load_hints(ws.root)
    text = TEXT[lang]
    print(text["chapter"].format(id=chapter.id, title=chapter.title_in(lang)))
    for result in results:
        hint = hints[result.id][lang]
        mark = {True: "✓", False: "✗", None: "·"}[result.ok]
        print(f"  {mark} {hint.title}")
        if result.ok is False:
            print(f"      → {hint.hint}")
            print(f"      {text['found']}: {result.detail}")
        elif result.ok is None:
            print(f"      {text['not_run']}")
    bad = sum(1 for r in results if r.ok is not True)
    if bad:
        cmd = f"uv run fleet workshop check {chapter.id}" + (" --lang zh-TW" if lang == "zh-TW" else "")
        print(text["failed"].format(bad=bad, n=len(results), cmd=cmd))
    else:
        print(text["passed"].format(n=len(results), next=_next(ws, chapter, lang)))


def check_chapter(ws: Workshop, chapter: Chapter, lang: str, work: Path | None = None) -> bool:
    target = Target(ws.root, work or ws.root / WORK)
    results = run_checks(CHECKS[chapter.id], target)
    print_results(ws, chapter, results, lang)
    passed = all(r.ok for r in results)
    if passed and work is None:
        _record(ws, chapter)
    return passed


def cmd_check(args: argparse.Namespace) -> int:
    ws = load_workshop()
    chapter = ws.chapter(args.chapter)
    lang = language(args.lang)
    if chapter.id not in CHECKS:
        raise WorkshopError(f"chapter {chapter.id} has no checks yet")
    passed = check_chapter(ws, chapter, lang)
    if not args.watch:
        return 0 if passed else 1
    from watchfiles import watch

    work = ws.root / WORK
    work.mkdir(parents=True, exist_ok=True)
    print(TEXT[lang]["watching"])
    for _ in watch(work, ws.root / "workshop" / "chapters.toml"):
        print()
        passed = check_chapter(ws, chapter, lang)
    return 0 if passed else 1


def cmd_catch_up(args: argparse.Namespace) -> int:
    ws = load_workshop()
    chapter = ws.chapter(args.chapter)
    lang = language(args.lang)
    done = (solve if args.solution else catch_up)(ws, chapter)
    if done.backup is not None:
        print(TEXT[lang]["backup"].format(path=done.backup.relative_to(ws.root)))
    for name in done.written:
        print(f"  wrote   {name if name.startswith(REPO) else f'{WORK}/{name}'}")
    for name in done.removed:
        print(f"  removed {WORK}/{name}")
    if not (done.written or done.removed):
        print("  " + TEXT[lang]["nothing"])
    key = "solved" if args.solution else "caught_up"
    print(TEXT[lang][key].format(id=chapter.id, title=chapter.title_in(lang), folder=chapter.folder))
    return 0


def cmd_progress(args: argparse.Namespace) -> int:
    ws = load_workshop()
    lang = language(args.lang)
    progress = _progress(ws)
    for chapter in ws.chapters:
        mark = "✓" if chapter.id in progress else "·"
        minutes = f"（{chapter.minutes} 分鐘）" if lang == "zh-TW" else f"({chapter.minutes} min)"
        print(f"  {mark} {chapter.id}  {chapter.title_in(lang)}  {minutes}")
    todo = [c for c in ws.chapters if c.id not in progress]
    if todo:
        print(TEXT[lang]["progress_next"].format(folder=todo[0].folder, id=todo[0].id))
    else:
        print(TEXT[lang]["progress_done"])
    return 0


def _print_findings(findings: list[Finding], lang: str, *, optional: bool = False) -> None:
    for f in findings:
        mark = "✓" if f.ok else ("·" if optional else "✗")
        print(f"  {mark} {f.name}: {f.found}")
        if f.fix:
            print(f"      {TEXT[lang]['fix']}: {f.fix}")


def cmd_doctor(args: argparse.Namespace) -> int:
    ws = load_workshop()
    lang = language(args.lang)
    text = TEXT[lang]
    print(text["doctor"])
    required = required_findings(ws.root) + port_findings(ws.root)
    print(text["required"])
    _print_findings(required, lang)
    print(text["optional"])
    _print_findings(optional_findings(), lang, optional=True)
    if not all(f.ok for f in required):
        print(text["doctor_bad"])
        return 1
    work = ws.root / WORK
    work.mkdir(parents=True, exist_ok=True)
    report = {"result": "passed", "found": {f.name: f.found for f in required}}
    (work / "doctor.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(text["doctor_ok"])
    return 0


def cmd_sentry_inbox(args: argparse.Namespace) -> int:
    from .inbox import inbox_socket, serve_inbox

    text = TEXT[language(args.lang)]
    try:
        sock = inbox_socket(args.host, args.port)
    except ValueError:
        print(text["inbox_not_loopback"].format(host=args.host))
        return 2
    except OSError as exc:
        print(text["inbox_port_busy"].format(port=args.port, error=exc.strerror or exc))
        return 1
    host, port = sock.getsockname()[:2]
    dsn = f"http://public@{f'[{host}]' if ':' in host else host}:{port}/1"
    print(text["inbox_title"])
    print(text["inbox_dsn"])
    print(f"  SENTRY_DSN={dsn}")
    print(text["inbox_forward"].format(dsn=dsn))
    print(text["inbox_waiting"], flush=True)
    capture = serve_inbox(sock, text, out=lambda line: print(line, flush=True))
    print(text["inbox_stopped"].format(n=len(capture.envelopes), refused=len(capture.errors)), flush=True)
    return 0


def add_workshop_parser(commands: Any) -> None:
    lang = argparse.ArgumentParser(add_help=False)
    lang.add_argument("--lang", choices=["en", "zh-TW"], default=None, help="default: from the locale")
    workshop = commands.add_parser(
        "workshop",
        parents=[lang],
        help="the hands-on workshop: progress, check, catch-up, doctor, sentry-inbox",
    )
    workshop.set_defaults(func=_guard(cmd_progress))
    sub = workshop.add_subparsers(dest="workshop_command")
    check = sub.add_parser("check", parents=[lang], help="check a chapter against your workshop/work/")
    check.add_argument("chapter", help="chapter number, e.g. 01")
    check.add_argument("--watch", action="store_true", help="check again whenever a file changes")
    check.set_defaults(func=_guard(cmd_check))
    up = sub.add_parser(
        "catch-up", parents=[lang], help="back up workshop/work/ and put it at the start of a chapter"
    )
    up.add_argument("chapter", help="chapter number, e.g. 04")
    up.add_argument(
        "--solution", action="store_true", help="the chapter's end instead of its start (stuck? compare)"
    )
    up.set_defaults(func=_guard(cmd_catch_up))
    doctor = sub.add_parser("doctor", parents=[lang], help="is this machine ready? (run it the day before)")
    doctor.set_defaults(func=_guard(cmd_doctor))
    inbox = sub.add_parser(
        "sentry-inbox",
        parents=[lang],
        help="a local Sentry inbox: prints the DSN to use and each event it receives (chapter 10)",
    )
    inbox.add_argument("--host", default="127.0.0.1", help="a loopback address (default: 127.0.0.1)")
    inbox.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default: {DEFAULT_PORT}; 0: any free")
    inbox.set_defaults(func=_guard(cmd_sentry_inbox))


def _guard(command: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(command(args))
        except WorkshopError as exc:
            print(f"fleet workshop: {exc}")
            return 1

    return run
