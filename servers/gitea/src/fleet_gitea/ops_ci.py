"""CI and change review: a commit's or pull request's checks, comparing refs, a commit's patch, and
Gitea Actions — job logs with the failing step first, dispatch, re-run, cancel. Mixed into GiteaOps."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from fleet_core import ToolError

from . import models as m
from .backend import GiteaClient, repo_path
from .convert import _ref, action_run, cap, commit_summary

MAX_COMPARE_COMMITS = 50
MAX_COMPARE_FILES = 100
MAX_STEP_LINES = 200
MAX_LOG_TAIL_BYTES = 1_000_000  # the tail is streamed; only this much is kept
FAILED = ("failure", "error", "cancelled", "timed_out")


def commit_status(ref: str, raw: dict[str, Any]) -> m.CommitStatus:
    checks = [
        m.StatusCheck(
            context=str(s.get("context") or ""),
            state=str(s.get("status") or ""),
            description=cap(s.get("description"), 300),
            target_url=str(s.get("target_url") or ""),
        )
        for s in raw.get("statuses") or []
        if isinstance(s, dict)
    ]
    return m.CommitStatus(
        ref=ref,
        sha=str(raw.get("sha") or ""),
        state=str(raw.get("state") or ""),
        checks=checks,
        total=int(raw.get("total_count") or len(checks)),
        failing=[c.context for c in checks if c.state in ("failure", "error")],
    )


def _stamp(text: str | None) -> datetime | None:
    """Gitea's log and step times (RFC 3339, up to 7 fractional digits) as datetimes; None if not one."""
    if not text:
        return None
    head, _, rest = text.partition(".")
    if rest:  # keep microseconds at most: fromisoformat takes 6 digits
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


class CiOps:
    """Mixed into `GiteaOps`, which provides `gitea`, `max_diff_bytes` and `max_log_lines`."""

    gitea: GiteaClient
    max_diff_bytes: int
    max_log_lines: int

    async def get_commit_status(self, user: str, owner: str, repo: str, ref: str) -> m.CommitStatus:
        path = repo_path(owner, repo, "commits", _ref(ref), "status")
        return commit_status(ref, await self.gitea.get_json(path, user, {"limit": 50}))

    async def get_pull_request_status(self, user: str, owner: str, repo: str, number: int) -> m.PullStatus:
        pr = await self.gitea.get_json(repo_path(owner, repo, "pulls", str(number)), user)
        head = pr.get("head") or {}
        sha = str(head.get("sha") or "")
        if not sha:
            raise ToolError(f"pull request #{number} has no head commit")
        status = await self.get_commit_status(user, owner, repo, sha)
        runs = await self.gitea.get_page(
            repo_path(owner, repo, "actions", "runs"), user, {"head_sha": sha, "limit": 10}
        )
        return m.PullStatus(
            number=number,
            head=str(head.get("ref") or ""),
            head_sha=sha,
            mergeable=bool(pr.get("mergeable")),
            status=status,
            runs=[action_run(r) for r in runs.items if isinstance(r, dict)],
        )

    async def compare_refs(self, user: str, owner: str, repo: str, base: str, head: str) -> m.Comparison:
        basehead = f"{_ref(base)}...{_ref(head)}".replace("%2F", "/")  # Gitea routes the rest as one path
        data = await self.gitea.get_json(repo_path(owner, repo, "compare", basehead), user)
        commits = [c for c in data.get("commits") or [] if isinstance(c, dict)]
        files: dict[str, str] = {}
        for c in commits:
            for f in c.get("files") or []:
                if isinstance(f, dict) and f.get("filename"):
                    files[str(f["filename"])] = str(f.get("status") or "")
        total = int(data.get("total_commits") or len(commits))
        return m.Comparison(
            base=base,
            head=head,
            total_commits=total,
            commits=[commit_summary(c) for c in commits[:MAX_COMPARE_COMMITS]],
            files=[m.CommitFile(filename=k, status=v) for k, v in list(files.items())[:MAX_COMPARE_FILES]],
            truncated=len(commits) > MAX_COMPARE_COMMITS or len(files) > MAX_COMPARE_FILES,
        )

    async def get_commit_patch(self, user: str, owner: str, repo: str, sha: str) -> m.Patch:
        path = repo_path(owner, repo, "git", "commits", f"{_ref(sha)}.patch")
        text, more = await self.gitea.get_text(path, user, limit=self.max_diff_bytes)
        return m.Patch(sha=sha, patch=text, truncated=more)

    # ---------------------------------------------------------------- Actions
    async def get_job_log_tail(self, user: str, owner: str, repo: str, job_id: int, lines: int) -> m.JobLog:
        lines = min(lines, self.max_log_lines)
        job = await self.gitea.get_json(repo_path(owner, repo, "actions", "jobs", str(job_id)), user)
        path = repo_path(owner, repo, "actions", "jobs", str(job_id), "logs")
        text, more = await self.gitea.get_text_tail(path, user, limit=MAX_LOG_TAIL_BYTES)
        all_lines = text.splitlines()
        if more:
            all_lines = all_lines[1:]  # the first kept line may be cut mid-way
        return m.JobLog(
            job_id=job_id,
            failed_steps=self._failed_steps(job, all_lines),
            lines=all_lines[-lines:],
            total_lines=None if more else len(all_lines),
            truncated=more or len(all_lines) > lines,
        )

    @staticmethod
    def _failed_steps(job: Any, lines: list[str]) -> list[m.StepLog]:
        """Each failed step's lines, found by the timestamps Gitea puts in front of every log line."""
        out = []
        stamped = [(_stamp(line.split(" ", 1)[0]), line) for line in lines]
        for step in (job.get("steps") if isinstance(job, dict) else None) or []:
            if not isinstance(step, dict) or step.get("conclusion") not in FAILED:
                continue
            start, end = _stamp(step.get("started_at")), _stamp(step.get("completed_at"))
            own = [
                line
                for when, line in stamped
                if when is not None and start is not None and start <= when and (end is None or when <= end)
            ]
            out.append(
                m.StepLog(
                    step=str(step.get("name") or f"step {step.get('number')}"),
                    conclusion=str(step["conclusion"]),
                    lines=own[-MAX_STEP_LINES:],
                    truncated=len(own) > MAX_STEP_LINES,
                )
            )
        return out

    async def dispatch_workflow(
        self, user: str, owner: str, repo: str, workflow: str, ref: str, inputs: dict[str, str]
    ) -> m.WorkflowDispatch:
        path = repo_path(owner, repo, "actions", "workflows", quote(workflow, safe=""), "dispatches")
        body: dict[str, Any] = {"ref": ref, **({"inputs": inputs} if inputs else {})}
        answer = await self.gitea.write("POST", path, user, body, params={"return_run_details": True})
        details = answer if isinstance(answer, dict) else {}
        run_id = details.get("workflow_run_id")
        return m.WorkflowDispatch(
            workflow=workflow,
            ref=ref,
            run_id=run_id if isinstance(run_id, int) else None,
            html_url=str(details.get("html_url") or ""),
        )

    async def rerun_action_run(
        self, user: str, owner: str, repo: str, run_id: int, failed_only: bool
    ) -> m.ActionRun:
        run_path = repo_path(owner, repo, "actions", "runs", str(run_id))
        answer = await self.gitea.write(
            "POST", f"{run_path}/{'rerun-failed-jobs' if failed_only else 'rerun'}", user
        )
        if not isinstance(answer, dict) or "id" not in answer:  # rerun-failed-jobs answers 201 with no body
            answer = await self.gitea.get_json(run_path, user)
        return action_run(answer)

    async def cancel_action_run(self, user: str, owner: str, repo: str, run_id: int) -> m.ActionRun:
        run_path = repo_path(owner, repo, "actions", "runs", str(run_id))
        answer = await self.gitea.write("POST", f"{run_path}/cancel", user)
        if not isinstance(answer, dict) or "id" not in answer:
            answer = await self.gitea.get_json(run_path, user)
        return action_run(answer)
