"""Fake Gitea routes for Actions: workflow runs, their jobs and job logs."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from .state import T0, FakeError, FakeState, PathParams, Query, Reply


class ActionRoutes(FakeState):
    """Actions routes of `FakeGitea`."""

    async def op_getWorkflowRuns(self, actor: str, p: PathParams, q: Query, body: Any, req: Request) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        runs = [
            r
            for r in reversed(repo.runs)
            if not q.get("status") or q["status"] in (r["status"], r["conclusion"])
        ]
        items, headers = self._page(runs, q, req)
        base = f"{self.base_url}/api/v1/repos/{repo.full_name}/actions/runs"
        out = [
            {
                **r,
                "repository_id": repo.id,
                "run_attempt": 1,
                "started_at": T0,
                "completed_at": T0,
                "html_url": f"{self.base_url}/{repo.full_name}/actions/runs/{r['run_number']}",
                "url": f"{base}/{r['id']}",
                "jobs_url": f"{base}/{r['id']}/jobs",
                "actor": self.user(repo.owner),
                "trigger_actor": self.user(repo.owner),
            }
            for r in items
        ]
        return 200, {"total_count": len(runs), "workflow_runs": out}, headers

    async def op_listWorkflowRunJobs(
        self, actor: str, p: PathParams, q: Query, body: Any, req: Request
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        if not any(r["id"] == int(p["run"]) for r in repo.runs):
            raise FakeError(404, "run not found")
        jobs = [j for j in repo.jobs if j["run_id"] == int(p["run"])]
        out = [
            {
                **j,
                "head_sha": "",
                "run_attempt": 1,
                "started_at": T0,
                "completed_at": T0,
                "labels": ["ubuntu"],
                "runner_name": "runner-1",
                "steps": [
                    {"number": 1, "name": "run tests", "status": j["status"], "conclusion": j["conclusion"]}
                ],
            }
            for j in jobs
        ]
        return 200, {"total_count": len(out), "jobs": out}, {}

    async def op_downloadActionsRunJobLogs(
        self, actor: str, p: PathParams, q: Query, body: Any, req: Request
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        log = repo.logs.get(int(p["job_id"]))
        if log is None:
            raise FakeError(404, "job not found")
        return 200, log, {}
