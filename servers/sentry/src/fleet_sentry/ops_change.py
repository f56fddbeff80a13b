"""The changes: each makes its change with the org token, then adds a note naming the caller.

Sentry's API can't act as a user with an org token, so the note is the attribution. It goes through
the issue comments endpoint, which is in Sentry's source (GroupNotesEndpoint) and used by sentry-mcp,
but not in the published OpenAPI document. If the note fails, the change has still happened: the
tool says so plainly.
"""

from __future__ import annotations

from typing import Any

from fleet_core import Identity, ToolError

from .backend import SentryClient
from .models import AutofixStarted, Change, MergeResult, Note
from .ops import Triage

__all__ = ["Changes"]


def signed(action: str, name: str, comment: str | None = None) -> str:
    """The attribution note: `name` is the caller's account name (never the UUID subject)."""
    return f"{action} by {name} via mcp-fleet" + (f"\n\n{comment}" if comment else "")


class Changes:
    """Every tool that changes Sentry, given the read side (for ids, users and result shapes)."""

    def __init__(self, triage: Triage) -> None:
        self.t = triage
        self.client: SentryClient = triage.client

    def name(self, who: Identity) -> str:
        """Checked before any change: a caller without an account name changes nothing."""
        return self.t.settings.account_of(who, "Sentry")

    async def change(
        self,
        who: Identity,
        organization: str | None,
        issue: str,
        changes: dict[str, Any],
        action: str,
        comment: str | None,
    ) -> Change:
        org = self.t.org(organization)
        name = self.name(who)
        issue_id = await self.client.issue_id(org, issue)
        await self.client.update_issue(org, issue_id, changes)
        note = await self._note(org, issue_id, signed(action, name, comment), done=action)
        raw = await self.client.issue(org, issue_id)
        return Change(issue=self.t.to_issue(org, raw), action=action, note=note)

    async def _note(self, org: str, issue_id: str, text: str, *, done: str | None) -> Note:
        try:
            raw = await self.client.add_note(org, issue_id, text)
        except ToolError as exc:
            if done is None:
                raise
            # The change landed; say so plainly rather than pretend nothing happened.
            raise type(exc)(f"{done} succeeded, but the attribution note failed: {exc}") from None
        return Note(id=str(raw.get("id", "")), text=(raw.get("data") or {}).get("text", text))

    async def assign(self, who: Identity, organization: str | None, issue: str, assignee: str) -> Change:
        org = self.t.org(organization)
        if assignee == "me":
            target, label = self.t.require_user(who), f"themselves ({self.t.require_user(who)})"
        elif assignee == "none":
            target, label = "", "nobody"
        elif assignee.startswith("#"):
            page = await self.client.teams(org, query=assignee[1:], limit=100, cursor=None)
            team = next((t for t in page.items if t["slug"] == assignee[1:]), None)
            if team is None:
                raise ToolError(f"Not found in Sentry: team {assignee!r}")
            target, label = f"team:{team['id']}", assignee
        else:
            target, label = assignee, assignee
        action = "Unassigned" if assignee == "none" else f"Assigned to {label}"
        return await self.change(who, org, issue, {"assignedTo": target}, action, None)

    async def note(self, who: Identity, organization: str | None, issue: str, text: str) -> Change:
        org = self.t.org(organization)
        name = self.name(who)
        issue_id = await self.client.issue_id(org, issue)
        note = await self._note(org, issue_id, f"{text}\n\n— {name} (via mcp-fleet)", done=None)
        raw = await self.client.issue(org, issue_id)
        return Change(issue=self.t.to_issue(org, raw), action="Note added", note=note)

    async def merge(
        self, who: Identity, organization: str | None, issues: list[str], comment: str | None
    ) -> MergeResult:
        org = self.t.org(organization)
        name = self.name(who)
        ids = list(dict.fromkeys([await self.client.issue_id(org, i) for i in issues]))
        if len(ids) < 2:
            raise ToolError("merging needs at least two different issues")
        answer = await self.client.update_issues(org, ids, {"merge": True})
        merge = answer.get("merge") if isinstance(answer, dict) else None
        if not isinstance(merge, dict) or not merge.get("parent"):
            raise ToolError("Sentry did not merge the issues (they must belong to the same project)")
        parent = str(merge["parent"])
        children = [str(c) for c in merge.get("children") or []]
        action = f"Merged {', '.join(children)} into {parent}"
        note = await self._note(org, parent, signed(action, name, comment), done=action)
        return MergeResult(parent=parent, children=children, note=note)

    async def start_autofix(
        self, who: Identity, organization: str | None, issue: str, instructions: str | None
    ) -> AutofixStarted:
        org = self.t.org(organization)
        name = self.name(who)
        issue_id = await self.client.issue_id(org, issue)
        body: dict[str, Any] = {"referrer": "mcp-fleet"}
        if instructions:
            body["user_context"] = instructions
        answer = await self.client.start_autofix(org, issue_id, body)
        run_id = str(answer.get("run_id", "")) if isinstance(answer, dict) else ""
        action = f"Seer autofix started (run {run_id or '?'})"
        note = await self._note(org, issue_id, signed(action, name, instructions), done=action)
        return AutofixStarted(issue_id=issue_id, run_id=run_id, note=note)
