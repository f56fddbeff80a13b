"""Gitea JSON → the models in models.py: the trimming shared by the read and write operations."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

from fleet_core import ToolError

from . import models as m
from .backend import Page

MAX_BODY_CHARS = 8000


def cap(text: str | None, limit: int = MAX_BODY_CHARS) -> str:
    text = text or ""
    return text if len(text) <= limit else text[:limit] + m.TRUNCATION_MARK


def _login(user: dict[str, Any] | None) -> str:
    login = (user or {}).get("login")
    return login if isinstance(login, str) else ""


def _title(message: str) -> str:
    return (message or "").split("\n", 1)[0]


def _is_binary(data: bytes) -> bool:
    if b"\0" in data[:8000]:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start < len(data) - 4  # a multibyte char cut at the end is still text
    return False


def _listing(page: Page, convert: Any) -> m.Listing[Any]:
    return m.Listing(items=[convert(x) for x in page.items], next_page=page.next_page, total=page.total)


def repo_fields(r: dict[str, Any]) -> dict[str, Any]:
    """The fields of RepoSummary (its detail model is built from them plus its own: validated once)."""
    return dict(
        full_name=r["full_name"],
        description=cap(r.get("description"), 300),
        private=r.get("private", False),
        fork=r.get("fork", False),
        archived=r.get("archived", False),
        default_branch=r.get("default_branch", ""),
        stars=r.get("stars_count", 0),
        open_issues=r.get("open_issues_count", 0),
        open_pull_requests=r.get("open_pr_counter", 0),
        updated_at=r.get("updated_at", ""),
        html_url=r.get("html_url", ""),
    )


def repo_summary(r: dict[str, Any]) -> m.RepoSummary:
    return m.RepoSummary(**repo_fields(r))


def issue_fields(i: dict[str, Any]) -> dict[str, Any]:
    """The fields of IssueSummary (its detail model is built from them plus its own: validated once)."""
    return dict(
        repository=(i.get("repository") or {}).get("full_name", ""),
        number=i["number"],
        title=i["title"],
        state=i["state"],
        is_pull_request=bool(i.get("pull_request")),
        author=_login(i.get("user")),
        labels=[lb["name"] for lb in i.get("labels") or []],
        assignees=[_login(a) for a in i.get("assignees") or []],
        milestone=(i.get("milestone") or {}).get("title"),
        comments=i.get("comments", 0),
        updated_at=i.get("updated_at", ""),
        html_url=i.get("html_url", ""),
    )


def issue_summary(i: dict[str, Any]) -> m.IssueSummary:
    return m.IssueSummary(**issue_fields(i))


def pull_fields(p: dict[str, Any]) -> dict[str, Any]:
    """The fields of PullSummary (its detail model is built from them plus its own: validated once)."""
    return dict(
        number=p["number"],
        title=p["title"],
        state=p["state"],
        author=_login(p.get("user")),
        head=(p.get("head") or {}).get("ref", ""),
        base=(p.get("base") or {}).get("ref", ""),
        draft=p.get("draft", False),
        merged=p.get("merged", False),
        mergeable=p.get("mergeable", False),
        updated_at=p.get("updated_at", ""),
        html_url=p.get("html_url", ""),
    )


def pull_summary(p: dict[str, Any]) -> m.PullSummary:
    return m.PullSummary(**pull_fields(p))


def commit_fields(c: dict[str, Any]) -> dict[str, Any]:
    """The fields of CommitSummary (its detail model is built from them plus its own: validated once)."""
    inner = c.get("commit") or {}
    author = inner.get("author") or {}
    return dict(
        sha=c["sha"],
        title=_title(inner.get("message", "")),
        author=_login(c.get("author")) or author.get("name", ""),
        date=author.get("date", ""),
        html_url=c.get("html_url", ""),
    )


def commit_summary(c: dict[str, Any]) -> m.CommitSummary:
    return m.CommitSummary(**commit_fields(c))


def review(r: dict[str, Any]) -> m.Review:
    return m.Review(
        id=r["id"],
        reviewer=_login(r.get("user")),
        state=r.get("state", ""),
        body=cap(r.get("body"), 2000),
        submitted_at=r.get("submitted_at", ""),
        stale=r.get("stale", False),
        dismissed=r.get("dismissed", False),
    )


def release(r: dict[str, Any]) -> m.Release:
    return m.Release(
        id=r["id"],
        tag_name=r["tag_name"],
        name=r.get("name", ""),
        draft=r.get("draft", False),
        prerelease=r.get("prerelease", False),
        author=_login(r.get("author")),
        target=r.get("target_commitish", ""),
        published_at=r.get("published_at") or "",
        body=cap(r.get("body"), 4000),
        html_url=r.get("html_url", ""),
    )


def comment(c: dict[str, Any]) -> m.Comment:
    return m.Comment(
        id=c["id"],
        author=_login(c.get("user")),
        body=cap(c.get("body"), 4000),
        created_at=c.get("created_at", ""),
    )


def _ref(ref: str) -> str:
    if not ref or ".." in ref or any(ord(c) < 0x21 for c in ref):
        raise ToolError(f"invalid ref {ref!r}")
    return quote(ref, safe="")


def wiki_segment(page_name: str) -> str:
    """A wiki page name as one URL path segment, escaped exactly once.

    Names come either plain ("Café Notes") or already escaped, as list_wiki_pages' `sub_url` gives
    them ("Caf%C3%A9-Notes"); unescape first so the second kind isn't escaped twice (→ %25C3%25A9).
    Gitea stores spaces as dashes."""
    name = unquote(page_name.strip()).replace(" ", "-")
    if not name or name in (".", "..") or "/" in name or any(ord(c) < 0x20 for c in name):
        raise ToolError(f"invalid wiki page name {page_name!r}")
    return quote(name, safe="")


def action_run(r: dict[str, Any]) -> m.ActionRun:
    """An Actions run (ActionWorkflowRun) as the tools show it."""
    return m.ActionRun(
        id=r["id"],
        run_number=r.get("run_number", 0),
        title=cap(r.get("display_title"), 200),
        workflow=r.get("path", ""),
        status=r.get("status", ""),
        conclusion=r.get("conclusion", ""),
        event=r.get("event", ""),
        branch=r.get("head_branch", ""),
        head_sha=r.get("head_sha", ""),
        started_at=r.get("started_at", ""),
        html_url=r.get("html_url", ""),
    )
