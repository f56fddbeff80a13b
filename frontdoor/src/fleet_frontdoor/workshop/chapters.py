"""`workshop/chapters.toml`, the one list of chapters, and where a chapter's files live."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "WORK",
    "Chapter",
    "Day",
    "Scaffold",
    "Workshop",
    "WorkshopError",
    "agenda",
    "find_root",
    "load_workshop",
    "timing",
]

WORK = "workshop/work"  # the attendee's folder (git-ignored); every chapter state lives in it


class WorkshopError(Exception):
    """chapters.toml or the workshop folder is not as the engine expects (a message for the attendee)."""


class Scaffold(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    item: str = Field(pattern=r"^[a-z][a-z0-9_]*$")


class Chapter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(pattern=r"^\d\d$")
    slug: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    title: str = Field(min_length=1)
    title_zh_tw: str = Field(alias="title_zh_TW", min_length=1)
    minutes: int = Field(ge=1, le=30)
    needs: tuple[Literal["fleet-dev", "postgres", "php", "docker", "browser"], ...] = ()
    # end-state files taken from elsewhere in the repo instead of solution/ (work file -> repo path)
    solution_from: dict[str, str] = Field(default_factory=dict)
    # the server this chapter's steps make with `fleet new NAME --item ITEM`: catch-up to a later
    # chapter makes it first when fleet.toml does not have it yet
    scaffold: Scaffold | None = None
    # a bonus chapter is in no day's plan: it follows the full day for those who finish early
    bonus: bool = False

    @field_validator("solution_from")
    @classmethod
    def _inside_work(cls, value: dict[str, str]) -> dict[str, str]:
        # catch-up writes these under workshop/work/ and reads them from the repo: never outside either
        for path in (*value, *value.values()):
            if PurePosixPath(path).is_absolute() or ".." in PurePosixPath(path).parts:
                raise ValueError(f"{path!r} must be a relative path inside the repo")
        return value

    @property
    def folder(self) -> str:
        return f"workshop/{self.id}-{self.slug}"

    def title_in(self, lang: str) -> str:
        return self.title_zh_tw if lang == "zh-TW" else self.title


class Day(BaseModel):
    """One day plan of workshop/INSTRUCTOR.md: chapters 01 to `last` from `start` (00 is done at home the
    day before), with a break of `breaks[id]` minutes after each chapter named there."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    title: str = Field(min_length=1)
    title_zh_tw: str = Field(alias="title_zh_TW", min_length=1)
    last: str = Field(pattern=r"^\d\d$")
    start: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    breaks: dict[str, int] = Field(default_factory=dict)

    def title_in(self, lang: str) -> str:
        return self.title_zh_tw if lang == "zh-TW" else self.title


@dataclass(frozen=True)
class Workshop:
    root: Path
    chapters: tuple[Chapter, ...]
    days: tuple[Day, ...] = ()

    def chapter(self, ref: str) -> Chapter:
        wanted = ref.zfill(2) if ref.isdigit() else ref
        for chapter in self.chapters:
            if wanted in (chapter.id, chapter.slug):
                return chapter
        known = ", ".join(c.id for c in self.chapters)
        raise WorkshopError(f"no chapter {ref!r} (chapters: {known})")

    def before(self, chapter: Chapter) -> tuple[Chapter, ...]:
        return self.chapters[: self.chapters.index(chapter)]


def find_root(start: Path | None = None) -> Path:
    """The repo whose `workshop/chapters.toml` is at or above `start` (default: the working directory)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "workshop" / "chapters.toml").is_file():
            return folder
    raise WorkshopError(f"no workshop/chapters.toml at or above {here}: run this inside your mcp-fleet clone")


def load_workshop(root: Path | None = None) -> Workshop:
    root = root or find_root()
    data = tomllib.loads((root / "workshop" / "chapters.toml").read_text(encoding="utf-8"))
    try:
        chapters = tuple(Chapter.model_validate(raw) for raw in data.get("chapters", []))
        days = tuple(Day.model_validate(raw) for raw in data.get("days", []))
    except ValidationError as exc:
        raise WorkshopError(f"workshop/chapters.toml: {exc}") from exc
    ids = [c.id for c in chapters]
    if ids != sorted(set(ids)):
        raise WorkshopError(f"chapters.toml: ids must be unique and in order: {ids}")
    return Workshop(root, chapters, days)


_NEEDS = {
    "en": {
        "fleet-dev": "`uv run fleet dev`",
        "postgres": "PostgreSQL",
        "php": "PHP",
        "docker": "Docker (optional)",
        "browser": "a browser (optional)",
    },
    "zh-TW": {
        "fleet-dev": "`uv run fleet dev`",
        "postgres": "PostgreSQL",
        "php": "PHP",
        "docker": "Docker（選用）",
        "browser": "瀏覽器（選用）",
    },
}


def agenda(ws: Workshop, lang: str) -> str:
    """The agenda table of workshop/README.md (and .zh-TW.md), generated from chapters.toml."""
    page = "README.zh-TW.md" if lang == "zh-TW" else "README.md"
    head = "| # | 章節 | 分鐘 | 需要 |" if lang == "zh-TW" else "| # | chapter | minutes | needs |"
    rows = [head, "|---|---|---|---|"]
    for c in ws.chapters:
        needs = ", ".join(_NEEDS[lang][n] for n in c.needs) or "—"
        extra = ("（加分章）" if lang == "zh-TW" else " (bonus)") if c.bonus else ""
        rows.append(
            f"| {c.id} | [{c.title_in(lang)}]({c.id}-{c.slug}/{page}){extra} | {c.minutes} | {needs} |"
        )
    total = sum(c.minutes for c in ws.chapters)
    rows.append(f"| | {'合計' if lang == 'zh-TW' else 'total'} | {total} | |")
    return "\n".join(rows) + "\n"


_TIMING = {
    "en": {
        "head": "| # | chapter | minutes |",
        "before": "the day before",
        "break": "break",
        "bonus": "bonus, if time allows",
        "end": "end",
        "min": "min",
        "total": "minutes of chapters + breaks",
    },
    "zh-TW": {
        "head": "| # | 章節 | 分鐘 |",
        "before": "前一天",
        "break": "休息",
        "bonus": "加分章，時間夠再做",
        "end": "結束",
        "min": "分鐘",
        "total": "各章分鐘數 + 休息",
    },
}


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def timing(ws: Workshop, lang: str) -> str:
    """The day plans of workshop/INSTRUCTOR.md (and .zh-TW.md), side by side, generated from chapters.toml:
    each day's start time of every chapter and break, from the chapters' minutes."""
    words = _TIMING[lang]
    page = "README.zh-TW.md" if lang == "zh-TW" else "README.md"
    days = ws.days
    rows = [
        words["head"] + "".join(f" {d.title_in(lang)} |" for d in days),
        "|---|---|---|" + "---|" * len(days),
    ]
    clocks = [int(d.start[:2]) * 60 + int(d.start[3:]) for d in days]
    ends = [max((c.id for c in ws.chapters if c.id <= d.last and not c.bonus), default="") for d in days]
    chapter_minutes = [0] * len(days)
    break_minutes = [0] * len(days)
    for c in ws.chapters:
        cells = []
        for i, day in enumerate(days):
            if c.id == "00":
                cells.append(words["before"])
            elif c.bonus and c.id > day.last and day is days[-1]:
                cells.append(f"{_clock(clocks[i])} ({words['bonus']})")
            elif c.id <= day.last and not c.bonus:
                cells.append(_clock(clocks[i]))
                clocks[i] += c.minutes
                chapter_minutes[i] += c.minutes
            else:
                cells.append("—")
        link = f"[{c.title_in(lang)}]({c.id}-{c.slug}/{page})"
        rows.append(f"| {c.id} | {link} | {c.minutes} |" + "".join(f" {cell} |" for cell in cells))
        # a break after the last chapter of a day is no break (nor one in a plan whose later chapters are
        # not written yet)
        pauses = [day.breaks.get(c.id, 0) if c.id < ends[i] else 0 for i, day in enumerate(days)]
        if any(pauses):
            cells = []
            for i, pause in enumerate(pauses):
                cells.append(f"{_clock(clocks[i])}, {pause} {words['min']}" if pause else "—")
                clocks[i] += pause
                break_minutes[i] += pause
            rows.append(f"| | {words['break']} | |" + "".join(f" {cell} |" for cell in cells))
    rows.append(f"| | {words['end']} | |" + "".join(f" {_clock(clock)} |" for clock in clocks))
    totals = "".join(f" {m} + {b} |" for m, b in zip(chapter_minutes, break_minutes, strict=True))
    rows.append(f"| | {words['total']} | |" + totals)
    return "\n".join(rows) + "\n"
