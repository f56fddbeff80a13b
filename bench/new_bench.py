"""How long `uv run fleet new demo --item thing` takes, end to end, including the generated server's tests.

    uv run python bench/new_bench.py [--runs N]

Each run works in a fresh scratch copy of this repository (its tracked and untracked-unignored files,
committed in a new git repository, `uv sync` done offline from uv's cache — not timed), then times the
whole command as a team runs it: `uv run fleet new demo --item thing` (render, fleet.toml, `uv add`,
regenerated files, ruff, `pytest servers/demo`). The target is < 60 s on the project's 2-core machine.
Prints each run (wall time, and CPU time of everything it started), the median and the load average,
then the step lines of the last run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from fleet_frontdoor.scaffold import copy_repository

ROOT = Path(__file__).resolve().parents[1]
UV = os.environ.get("UV") or shutil.which("uv") or "uv"
LEAKS = ("FLEET_", "SENTRY_", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run() -> tuple[float, float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(LEAKS)} | {"UV_OFFLINE": "1"}
    with tempfile.TemporaryDirectory(prefix="fleet-new-bench-") as tmp:
        repo = copy_repository(ROOT, Path(tmp))
        subprocess.run([UV, "sync", "--locked", "--quiet"], cwd=repo, env=env, check=True)
        started, cpu = time.perf_counter(), _children_cpu()
        done = subprocess.run(
            [UV, "run", "--locked", "fleet", "new", "demo", "--item", "thing"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"fleet new failed:\n{done.stdout}\n{done.stderr}")
    return seconds, cpu, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=1)
    runs = parser.parse_args().runs
    figures = []
    out = ""
    for n in range(1, runs + 1):
        seconds, cpu, out = one_run()
        figures.append(seconds)
        # CPU time (user + system, every process it started): what a loaded machine can't inflate
        print(f"run {n}: fleet new demo --item thing (incl. its tests): {seconds:.1f} s, {cpu:.1f} s CPU")
    print(f"median of {runs}: {statistics.median(figures):.1f} s (target < 60 s on 2 cores)")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} (2 cores: above 2 the figure is inflated)")
    print("last run's steps:\n" + "\n".join(line for line in out.splitlines() if line.strip()))


if __name__ == "__main__":
    main()
