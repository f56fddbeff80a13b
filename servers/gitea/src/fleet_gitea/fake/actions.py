"""Fake Gitea routes for Actions: workflow runs, their jobs and job logs."""

from __future__ import annotations

from typing import Any

from fleet_core.specfake import FakeRequest

from .state import T0, FakeError, FakeState, FRepo, PathParams, Query, Reply, _at


class ActionRoutes(FakeState):
    """Actions routes of `FakeGitea`."""

    def run(self, repo: FRepo, r: dict[str, Any]) -> dict[str, Any]:
        base = f"{self.base_url}/api/v1/repos/{repo.full_name}/actions/runs"
        return {
            **r,
            "repository_id": repo.id,
            "run_attempt": r.get("run_attempt", 1),
            "started_at": T0,
            "completed_at": T0,
            "html_url": f"{self.base_url}/{repo.full_name}/actions/runs/{r['run_number']}",
            "url": f"{base}/{r['id']}",
            "jobs_url": f"{base}/{r['id']}/jobs",
            "actor": self.user(repo.owner),
            "trigger_actor": self.user(repo.owner),
        }

    def job(self, j: dict[str, Any]) -> dict[str, Any]:
        return {
            **{k: v for k, v in j.items() if k != "steps"},
            "head_sha": "",
            "run_attempt": 1,
            "started_at": T0,
            "completed_at": T0,
            "labels": ["ubuntu"],
            "runner_name": "runner-1",
            "steps": [
                {"number": n + 1, "name": name, "status": "completed", "conclusion": conclusion,
                 "started_at": _at(start), "completed_at": _at(end)}
                for n, (name, conclusion, start, end) in enumerate(j["steps"])
            ],
        }  # fmt: skip

    def _run_of(self, repo: FRepo, run: str) -> dict[str, Any]:
        found = next((r for r in repo.runs if r["id"] == int(run)), None)
        if found is None:
            raise FakeError(404, "run not found")
        return found

    async def op_getWorkflowRuns(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        runs = [
            r
            for r in reversed(repo.runs)
            if (not q.get("status") or q["status"] in (r["status"], r["conclusion"]))
            and (not q.get("head_sha") or q["head_sha"] == r["head_sha"])
        ]
        items, headers = self._page(runs, q, req)
        out = [self.run(repo, r) for r in items]
        return 200, {"total_count": len(runs), "workflow_runs": out}, headers

    async def op_listWorkflowRunJobs(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        if not any(r["id"] == int(p["run"]) for r in repo.runs):
            raise FakeError(404, "run not found")
        out = [self.job(j) for j in repo.jobs if j["run_id"] == int(p["run"])]
        return 200, {"total_count": len(out), "jobs": out}, {}

    async def op_downloadActionsRunJobLogs(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        log = repo.logs.get(int(p["job_id"]))
        if log is None:
            raise FakeError(404, "job not found")
        return 200, log, {}

    async def op_getWorkflowJob(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        job = next((j for j in repo.jobs if j["id"] == int(p["job_id"])), None)
        if job is None:
            raise FakeError(404, "job not found")
        return 200, self.job(job), {}

    async def op_GetWorkflowRun(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"])
        return 200, self.run(repo, self._run_of(repo, p["run"])), {}

    async def op_ActionsDispatchWorkflow(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        if p["workflow_id"] not in repo.workflows:
            raise FakeError(404, f"workflow {p['workflow_id']} not found")
        if body["ref"] not in repo.branches and body["ref"] not in repo.tags:
            raise FakeError(422, f"ref {body['ref']} does not exist")
        run = {
            "id": next(self._ids),
            "run_number": len(repo.runs) + 1,
            "display_title": f"Dispatched by {actor}",
            "status": "queued",
            "conclusion": "",
            "event": "workflow_dispatch",
            "head_branch": body["ref"],
            "head_sha": repo.branches.get(body["ref"], ""),
            "path": p["workflow_id"],
        }
        repo.runs.append(run)
        if q.get("return_run_details") != "true":
            return 204, None, {}
        html = f"{self.base_url}/{repo.full_name}/actions/runs/{run['run_number']}"
        api = f"{self.base_url}/api/v1/repos/{repo.full_name}/actions/runs/{run['id']}"
        return 200, {"workflow_run_id": run["id"], "html_url": html, "run_url": api}, {}

    async def op_rerunWorkflowRun(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        run = self._run_of(repo, p["run"])
        if run["status"] != "completed":
            raise FakeError(409, "run is not done")
        run.update(status="queued", conclusion="", run_attempt=run.get("run_attempt", 1) + 1)
        return 201, self.run(repo, run), {}

    async def op_rerunFailedWorkflowRun(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        run = self._run_of(repo, p["run"])
        if run["conclusion"] != "failure":
            raise FakeError(409, "the run has no failed jobs")
        run.update(status="queued", conclusion="", run_attempt=run.get("run_attempt", 1) + 1)
        return 201, None, {}

    async def op_cancelWorkflowRun(
        self, actor: str, p: PathParams, q: Query, body: Any, req: FakeRequest
    ) -> Reply:
        repo = self._repo(actor, p["owner"], p["repo"], write=True)
        run = self._run_of(repo, p["run"])
        if run["status"] == "completed":
            raise FakeError(409, "run already completed")
        run.update(status="completed", conclusion="cancelled")
        return 200, self.run(repo, run), {}
