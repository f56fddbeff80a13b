"""A server process imports what serving needs and nothing more (issue 18 item 3: <= 60 MB RSS per
server process). Each module below costs RSS for the life of every worker when imported at start-up
(sentry_sdk ~5 MB, psycopg ~7 MB, pglast ~8 MB, jsonschema ~6 MB), so each is imported only where
and when it is used: Sentry only when a DSN is set, the database driver only in fleet-db and its SQL
parser only on the first write, JWT verification only in the jwt trust mode, test fakes and the
front door's CLI never.

Each server's real `main()` runs in a fresh interpreter (settings from the environment, its backend
client, its tools, `build_app`) up to the point where it would start uvicorn; the probe then prints
`sys.modules`. No size is measured here: bench/core_bench.py prints the RSS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SERVERS = ("db", "gitea", "sentry", "wiki")

PROBE = """
import json, sys
import fleet_core._main
def record(app, settings):
    print(json.dumps(sorted(sys.modules)))
    raise SystemExit(0)
fleet_core._main.serve = record  # what main() calls once the app is built
__import__(f"fleet_{sys.argv[1]}.__main__", fromlist=["main"]).main()
"""

NEVER_AT_START_UP = (
    "sentry_sdk",  # only with SENTRY_DSN set
    "jwt",  # PyJWT: only in the jwt trust mode (fleet_core.jwt)
    "cryptography.hazmat.primitives.asymmetric.rsa",  # what PyJWT's RS256 would bring
    "jsonschema",  # the spec fakes' validator (fleet_core.specfake), a test tool
    "pglast",  # fleet-db's SQL parser (~8 MB): on the first execute_statement only
    "fleet_core.specfake",
    "fleet_core.testing",
    "fleet_frontdoor",  # the `fleet` CLI, gateway and auth server: other processes
    "fleet_client",
    "pytest",
    "selenium",
    "copier",
)
DATABASE_ONLY = ("psycopg", "psycopg_pool")
TEST_AND_DEV = {"fake", "fake_spec", "testing", "dev", "deploy", "provision"}  # fleet_<name>.<these>


def _start_up_modules(server: str, **extra: str) -> set[str]:
    prefix = f"FLEET_{server.upper()}_"
    env = {k: v for k, v in os.environ.items() if k != "SENTRY_DSN" and not k.startswith(prefix)}
    env |= {
        prefix + "PUBLIC_URL": f"http://127.0.0.1:8700/mcp/{server}",
        prefix + "GATEWAY_SECRETS": "startup-imports-secret-0123456789",
        prefix + "WORKERS": "1",
        # backends that are never contacted: nothing connects before serving starts
        prefix + "URL": "http://127.0.0.1:9",
        prefix + "TOKEN": "startup-imports-token",
        prefix + "BOT_USERNAME": "bot@probe",
        prefix + "BOT_PASSWORD": "startup-imports-password",
        prefix + "AUTH_TOKEN": "startup-imports-token",
        prefix + "DATABASE_URL": "postgresql://probe:probe@127.0.0.1:9/probe",
    } | extra
    done = subprocess.run(
        [sys.executable, "-c", PROBE, server], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    modules = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert f"fleet_{server}.server" in modules  # the probe saw a real start-up
    assert "mcp.server.mcpserver" in modules
    return modules


@pytest.mark.parametrize("server", SERVERS)
def test_start_up_imports_only_what_serving_needs(server: str) -> None:
    modules = _start_up_modules(server)
    unwanted = [m for m in NEVER_AT_START_UP if m in modules]
    unwanted += [m for m in DATABASE_ONLY if m in modules and server != "db"]
    unwanted += [m for m in modules if m.startswith(f"fleet_{server}.") and m.split(".")[1] in TEST_AND_DEV]
    assert not unwanted, f"fleet-{server} imports {unwanted} at start-up"


def test_sentry_is_imported_when_a_dsn_is_set() -> None:
    """The other side of the rule, and proof the probe would see the module if it were imported."""
    modules = _start_up_modules("gitea", SENTRY_DSN="https://public@127.0.0.1:9/1")
    assert "sentry_sdk" in modules
