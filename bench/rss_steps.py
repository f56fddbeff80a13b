"""Where a server process's RSS comes from (issue 18 item 3: <= 60 MB per server process): one fresh
interpreter imports, step by step, what fleet-gitea's start-up imports, in the order the SDK pulls
it in, then builds the server the way `fleet-gitea` does (settings, backend client, tools, app) and
releases start-up memory as `fleet_core.serve` does once uvicorn is up. After each step it prints
VmRSS (anonymous + file-backed pages, from /proc/self/status) and what the step added.

    uv run python bench/rss_steps.py

Each step's figure includes everything that step imports that no earlier step did (so `mcp` is the
SDK's package __init__, which imports its client, server, auth, OpenTelemetry and CLI-adjacent
modules, whatever the server uses). uvicorn's start-up and the first call are bench/core_bench.py's.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys

STEPS = [
    ("typing (stdlib)", "typing"),
    ("pydantic_core (Rust validators)", "pydantic_core"),
    ("pydantic BaseModel", "pydantic.main"),
    ("anyio", "anyio"),
    ("starlette (app, requests, responses)", "starlette.applications"),
    ("uvicorn (imports click, watchfiles)", "uvicorn"),
    ("httpx2", "httpx2"),
    ("cryptography (mcp.server.request_state)", "cryptography.hazmat.primitives.ciphers.aead"),
    ("mcp_types (both protocol eras' models)", "mcp_types"),
    ("mcp (package __init__: client + server)", "mcp"),
    ("mcp.server.mcpserver", "mcp.server.mcpserver"),
    ("fleet_core", "fleet_core"),
    ("fleet_gitea.__main__ (its models, tools)", "fleet_gitea.__main__"),
]


def status() -> tuple[float, float, float]:
    fields: dict[str, float] = {}
    with open("/proc/self/status") as lines:
        for line in lines:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["RssAnon"], fields["RssFile"]


def main() -> None:
    spec = importlib.util.find_spec("mcp")
    origin = spec.origin if spec is not None else None
    compiled = origin is not None and os.path.exists(importlib.util.cache_from_source(origin))
    bytecode = "yes" if compiled else "no (compiled at import)"
    print(f"Python {sys.version.split()[0]}; bytecode for the SDK: {bytecode}")
    print(f"{'step':44}{'RSS MB':>8}{'+MB':>7}{'anon':>7}{'file':>7}")
    previous = status()[0]

    def show(name: str) -> None:
        nonlocal previous
        rss, anon, file = status()
        print(f"{name:44}{rss:8.1f}{rss - previous:+7.1f}{anon:7.1f}{file:7.1f}")
        previous = rss

    show("python, nothing imported")
    for name, module in STEPS:
        importlib.import_module(module)
        show(name)

    from fleet_core import build_app
    from fleet_core._serve import release_startup_memory
    from fleet_gitea.__main__ import _start
    from fleet_gitea.settings import GiteaSettings

    os.environ |= {
        "FLEET_GITEA_URL": "http://127.0.0.1:9",  # never contacted
        "FLEET_GITEA_TOKEN": "rss-steps-token",
        "FLEET_GITEA_PUBLIC_URL": "http://127.0.0.1:8700/mcp/gitea",
        "FLEET_GITEA_GATEWAY_SECRETS": "rss-steps-gateway-secret-0123456789",
    }
    settings = GiteaSettings()
    show("settings")
    with contextlib.ExitStack() as stack:
        mcp, ready = _start(settings, stack)
        show(f"backend client + server, {len(mcp._tool_manager.list_tools())} tools")
        build_app(mcp, settings, ready=ready)
        show("build_app")
        release_startup_memory()
        show("release_startup_memory (gc + malloc_trim)")


if __name__ == "__main__":
    main()
