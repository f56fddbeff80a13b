"""The compose stack: in sync with fleet.toml, valid Compose, and keeping the security properties it must.

No Docker engine runs here: these tests check the files (schema, sync, S1 network layout, secrets only as
required env references, jwt trust + one gateway secret per server with the manifest's resource URLs,
strict Kong config), not a
running stack.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import httpx2
import jsonschema
import psycopg
import pytest
import yaml
from anyio.from_thread import start_blocking_portal

from fleet_core import dev_subject, env_prefix, package_name
from fleet_core.testing import MCP_HEADERS, JwtIssuer, call_body, free_port, manifest_servers
from fleet_db.embedded import SUPERUSER, EmbeddedPostgres
from fleet_frontdoor.cli import main
from fleet_frontdoor.compose import GATEWAY_ORIGIN_VAR, ISSUER_VAR, compose_upstream
from fleet_frontdoor.generate import ISSUER_ENV, ORIGIN_ENV, deck_secret_var, render
from fleet_frontdoor.manifest import Manifest, load_manifest
from fleet_frontdoor.topology import gateway_secret_var

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "fleet.toml"
STACK_FILES = ("compose.yaml", "gateway/kong.compose.yml", ".env.example")
REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-?])([^}]*))?\}")
REQUIRED_REF = re.compile(r"\$\{([A-Z0-9_]+):\?[^}]+\}")


def required_var(value: str) -> str:
    """The variable a required reference `${VAR:?why}` names; fails the test if `value` is not one."""
    match = REQUIRED_REF.fullmatch(value)
    assert match is not None, f"expected ${{VAR:?why}}, got {value!r}"
    return match.group(1)


SECRET_NAME = re.compile(r"(SECRETS?|TOKEN|PASSWORD|PRIVATE_KEY)$", re.IGNORECASE)


def manifest() -> Manifest:
    return load_manifest(MANIFEST)


def compose() -> dict[str, Any]:
    value: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return value


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}` (enough of it for these files)."""

    def sub(match: re.Match[str]) -> str:
        name, op, arg = match.groups()
        if op == ":-":
            return env.get(name) or arg
        if op == ":?" and not env.get(name):
            raise LookupError(f"{name} is required: {arg}")
        return env.get(name, "")

    return REF.sub(sub, value)


def deck_render(template: str, env: dict[str, str]) -> str:
    """decK's `${{ env "DECK_X" }}` substitution, as `deck file render --populate-env-vars` does."""
    return re.sub(r'\$\{\{ env "(DECK_[A-Z0-9_]+)" \}\}', lambda m: env[m.group(1)], template)


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return [value] if isinstance(value, str) else []


def servers_env(doc: dict[str, Any], name: str) -> dict[str, str]:
    env: dict[str, str] = doc["services"][f"mcp-{name}"]["environment"]
    return env


def test_committed_compose_stack_is_in_sync_with_the_manifest() -> None:
    generated = render(manifest())
    for rel in STACK_FILES:
        assert (ROOT / rel).read_text() == generated[rel], f"{rel} is stale: run `uv run fleet gateway kong`"


def test_gateway_kong_check_covers_the_compose_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(MANIFEST, tmp_path / "fleet.toml")
    argv = ["--manifest", str(tmp_path / "fleet.toml"), "gateway", "kong"]
    with pytest.raises(SystemExit):
        main(argv)
    text = (tmp_path / "fleet.toml").read_text()
    (tmp_path / "fleet.toml").write_text(text.replace('name = "wiki"', 'name = "wiki"\nenabled = false'))
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--check"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    for rel in STACK_FILES:
        assert f"{rel} is out of date" in err
    with pytest.raises(SystemExit):
        main(argv)
    doc = yaml.safe_load((tmp_path / "compose.yaml").read_text())
    assert "mcp-wiki" not in doc["services"]
    assert "mediawiki" not in doc["services"]
    assert "wiki-backend" not in doc["networks"]
    assert "FLEET_WIKI_BOT_PASSWORD" not in (tmp_path / ".env.example").read_text()
    assert "/mcp/wiki" not in (tmp_path / "gateway" / "kong.compose.yml").read_text()


def test_compose_file_validates_against_the_official_compose_schema() -> None:
    schema = json.loads(resources.files("fleet_frontdoor").joinpath("_spec/compose-spec.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    doc = compose()
    assert list(validator.iter_errors(doc)) == []
    # the schema really constrains: a misspelt key and a wrong type are refused
    broken = json.loads(json.dumps(doc))
    broken["services"]["kong"]["network"] = ["edge"]
    broken["services"]["authgate"]["ports"] = {"8701": 8080}
    assert len(list(validator.iter_errors(broken))) == 2


def test_s1_only_kong_and_authgate_publish_ports_and_servers_are_reachable_only_from_kong() -> None:
    doc = compose()
    services: dict[str, dict[str, Any]] = doc["services"]
    networks: dict[str, dict[str, Any]] = doc["networks"]
    servers = {f"mcp-{s.name}" for s in manifest().enabled_servers}
    assert {name for name, s in services.items() if s.get("ports")} == {"kong", "authgate"}
    for name, service in services.items():
        assert "network_mode" not in service, name  # host networking would bypass every rule below
        assert "expose" not in service, name
        assert set(service["networks"]) <= set(networks), name
    members = {net: {name for name, s in services.items() if net in s["networks"]} for net in networks}
    # the servers' front network: internal, and Kong is the only non-server on it
    assert networks["mcp"] == {"internal": True}
    assert members["mcp"] == {"kong"} | servers
    assert set(services["kong"]["networks"]) == {"edge", "mcp"}
    assert set(services["authgate"]["networks"]) == {
        "edge",
        "authgate-keys",
        "authgate-backend",
        "authgate-admin",
    }
    # F2: AuthGate's database on a private internal network shared with AuthGate only
    assert networks["authgate-backend"] == {"internal": True}
    assert members["authgate-backend"] == {"authgate", "authgate-db"}
    # authgate-init reaches AuthGate's admin UI on a network of their own
    assert networks["authgate-admin"] == {"internal": True}
    assert members["authgate-admin"] == {"authgate", "authgate-init"}
    # the servers fetch AuthGate's keys on an internal network with no backend on it
    assert networks["authgate-keys"] == {"internal": True}
    assert members["authgate-keys"] == {"authgate"} | servers
    for server in servers:
        for net in set(services[server]["networks"]) - {"mcp", "authgate-keys"}:
            # a server's own backend network: no gateway, no AS, no other server on it
            assert members[net] & ({"kong", "authgate"} | servers) == {server}, net
            if not networks[net].get("internal"):
                assert members[net] == {server}, f"{net}: an egress network is the server's alone"
    backends = set(services) - servers - {"kong", "authgate"}
    assert backends == {
        "postgres",
        "db-provision",
        "gitea",
        "gitea-init",
        "mediawiki",
        "wiki-init",
        "authgate-db",
        "authgate-init",
    }
    for backend in backends:
        for net in services[backend]["networks"]:
            assert networks[net] == {"internal": True}, f"{backend} on {net}"


def test_every_secret_is_a_required_environment_reference() -> None:
    doc = compose()
    secret_values = []
    for name, service in doc["services"].items():
        for key, value in service.get("environment", {}).items():
            if SECRET_NAME.search(key):
                assert REQUIRED_REF.fullmatch(value), f"{name}.{key} must be ${{VAR:?why}}, got {value!r}"
                secret_values.append(value)
            else:
                # a non-secret may default, but never to something that could be a credential
                for var, op, _ in REF.findall(value):
                    assert not (SECRET_NAME.search(var) and op != ":?"), f"{name}.{key}: {var} needs :?"
    assert len(secret_values) >= 10
    assert REQUIRED_REF.fullmatch(doc["secrets"]["authgate_jwt_key"]["file"])
    # nothing resolves without an environment: every secret variable is required
    with pytest.raises(LookupError):
        interpolate(servers_env(doc, "db")["FLEET_DB_GATEWAY_SECRETS"], {})
    # .env.example: placeholders only, and it names every required variable
    example = (ROOT / ".env.example").read_text()
    assignments = dict(
        line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#")
    )
    assert all(value == "" for value in assignments.values()), "placeholders only in .env.example"
    required_vars = {var for value in strings(doc) for var in REQUIRED_REF.findall(value)}
    assert required_vars == set(assignments)
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in ignored
    assert ".secrets/" in ignored


def test_servers_verify_the_token_with_their_own_gateway_secret_and_serve_the_manifest_resource() -> None:
    """The production topology (DESIGN §3.1): Kong passes the bearer through, each server runs jwt trust
    with the username claim as account name, and its own gateway secret — Kong holds them all, each server
    only its own."""
    doc = compose()
    kong_env = doc["services"]["kong"]["environment"]
    own: dict[str, str] = {}
    for server in manifest().enabled_servers:
        deck = deck_secret_var(server)
        assert required_var(kong_env[deck]) == gateway_secret_var(server)
        prefix = f"FLEET_{server.name.upper()}_"
        env = servers_env(doc, server.name)
        assert env[prefix + "TRUST_MODE"] == "jwt"
        assert env[prefix + "ACCOUNT_SOURCE"] == "claim"
        assert interpolate(env[prefix + "ACCOUNT_CLAIM"], {}) == "extra_uid"  # AuthGate's username claim
        assert env[prefix + "JWKS_URL"] == "http://authgate:8080/.well-known/jwks.json"
        own[server.name] = required_var(env[prefix + "GATEWAY_SECRETS"])
        assert own[server.name] == gateway_secret_var(server)
        others = [v for k, v in env.items() if k != prefix + "GATEWAY_SECRETS"]
        assert not any("GATEWAY_SECRET" in v for v in others), "a server holds only its own secret"
        # the manifest's resource by default, and the same origin variable as Kong's audience
        assert interpolate(env[prefix + "PUBLIC_URL"], {}) == server.resource
        production = {GATEWAY_ORIGIN_VAR: "https://mcp.example.com", ISSUER_VAR: "https://auth.example.com"}
        assert interpolate(env[prefix + "PUBLIC_URL"], production) == f"https://mcp.example.com{server.path}"
        issuer = interpolate(kong_env[ISSUER_ENV], production)
        assert interpolate(env[prefix + "ISSUER"], production) == issuer == "https://auth.example.com"
        # Kong reaches the server at its service name: that Host must be accepted
        upstream = compose_upstream(server)
        assert f"http://{env[prefix + 'ALLOWED_HOSTS']}" == upstream
        assert env[prefix + "HOST"] == "0.0.0.0"  # noqa: S104 - inside the container, internal networks
        assert env[prefix + "PORT"] == upstream.rsplit(":", 1)[1]
    assert len(set(own.values())) == len(own)  # one secret per server
    assert interpolate(kong_env[ORIGIN_ENV], {}) == manifest().gateway.origin
    authgate = doc["services"]["authgate"]["environment"]
    assert interpolate(authgate["BASE_URL"], {}) == manifest().issuer.url
    assert authgate["JWT_SIGNING_ALGORITHM"] == "RS256"
    assert authgate["JWT_EXPIRATION"] == f"{manifest().issuer.access_token_ttl_seconds}s"


def test_compose_kong_config_is_strict_and_matches_the_manifest_once_rendered() -> None:
    template = (ROOT / "gateway" / "kong.compose.yml").read_text()
    kong_env = compose()["services"]["kong"]["environment"]
    # every decK variable the template reads is one the kong service is given
    secret_vars = {deck_secret_var(s): f"{s.name}-secret-{'s' * 24}" for s in manifest().enabled_servers}
    assert set(re.findall(r'env "(DECK_[A-Z0-9_]+)"', template)) == {*secret_vars, ORIGIN_ENV, ISSUER_ENV}
    assert {*secret_vars, ORIGIN_ENV, ISSUER_ENV} <= set(kong_env)
    origin, issuer = "https://mcp.example.com", "https://auth.example.com"
    rendered = deck_render(template, secret_vars | {ORIGIN_ENV: origin, ISSUER_ENV: issuer})
    services = yaml.safe_load(rendered)["services"]
    dev_services = yaml.safe_load((ROOT / "gateway" / "kong.yml").read_text())["services"]
    for service, dev, server in zip(services, dev_services, manifest().enabled_servers, strict=True):
        assert service["url"] == compose_upstream(server) + "/mcp"
        assert service["routes"] == dev["routes"]
        plugins = {p["name"]: p["config"] for p in service["plugins"]}
        config = plugins["mcp-oauth2"]
        assert config["gateway_origin"] == origin
        assert config["issuer"] == issuer
        assert config["audience"] == origin + server.path
        assert config["jwks_uri"] == "http://authgate:8080/.well-known/jwks.json"
        assert config["upstream_auth_mode"] == "passthrough"  # the server verifies the bearer itself
        assert [k for k, v in config.items() if k.startswith("skip_") or k == "debug_claims"] == [
            "skip_issuer_check",
            "skip_type_check",
            "skip_control_chars",
            "skip_audience_check",
            "debug_claims",
        ]
        assert not any(v for k, v in config.items() if k.startswith("skip_") or k == "debug_claims")
        secret = "X-MCP-Gateway-Secret:" + secret_vars[deck_secret_var(server)]
        assert plugins["request-transformer"]["replace"]["headers"] == [secret]
        assert plugins["request-transformer"]["add"]["headers"] == [secret]
        # everything but the addresses is the same as the reviewed gateway/kong.yml
        dev_plugins = {p["name"]: p["config"] for p in dev["plugins"]}
        assert plugins["cors"] == dev_plugins["cors"]
        keep = {"issuer", "gateway_origin", "audience", "jwks_uri"}
        assert {k: v for k, v in config.items() if k not in keep} == {
            k: v for k, v in dev_plugins["mcp-oauth2"].items() if k not in keep
        }


def _dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def test_root_dockerfile_builds_every_manifest_server_non_root_from_the_frozen_lock() -> None:
    instructions = _dockerfile_instructions(ROOT / "Dockerfile")
    stages = [i for i, (kw, _) in enumerate(instructions) if kw == "FROM"]
    final = instructions[stages[-1] :]
    users = [arg for kw, arg in final if kw == "USER"]
    assert users, "the runtime stage must switch user"
    assert users[-1].split(":")[0] not in {"root", "0"}
    syncs = [arg for kw, arg in instructions if kw == "RUN" and "uv sync" in arg]
    assert len(syncs) == 1
    assert all(flag in syncs[0] for flag in ("--frozen", "--no-dev", '--package "fleet-${SERVER}"'))
    (health,) = [arg for kw, arg in final if kw == "HEALTHCHECK"]
    assert '"python"' in health
    assert "/healthz" in health
    assert "curl" not in health
    assert [arg for kw, arg in final if kw == "ENTRYPOINT"] == ['["fleet-server"]']
    names = [n for kw, arg in instructions if kw in {"ENV", "ARG"} for n in re.findall(r"(\w+)=", arg)]
    assert names
    assert not [n for n in names if SECRET_NAME.search(n)]
    # every server compose builds is a workspace package with its console script, pinned in the lock
    lock = {p["name"] for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}
    builds = {
        s["build"]["args"]["SERVER"]
        for s in compose()["services"].values()
        if s.get("build", {}).get("dockerfile") == "Dockerfile"
    }
    assert builds == {s.name for s in manifest().enabled_servers}
    for name in builds:
        project = tomllib.loads((ROOT / "servers" / name / "pyproject.toml").read_text())["project"]
        assert project["name"] == f"fleet-{name}"
        assert f"fleet-{name}" in project["scripts"]
        assert f"fleet-{name}" in lock
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".venv", ".fleet", ".env", ".git"} <= set(ignored)


def test_one_dockerfile_for_all_servers() -> None:
    assert not list(ROOT.glob("servers/*/Dockerfile"))
    for readme in ROOT.glob("servers/*/README.md"):
        assert not re.search(r"servers/\w+/Dockerfile", readme.read_text()), readme


def test_kong_image_carries_the_plugin_and_renders_with_deck() -> None:
    instructions = _dockerfile_instructions(ROOT / "gateway" / "kong" / "Dockerfile")
    args = dict(arg.split("=", 1) for kw, arg in instructions if kw == "ARG" and "=" in arg)
    assert args["KONG_VERSION"] == "3.9"
    assert instructions[-1] == ("CMD", '["kong", "docker-start"]')
    final = instructions[max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM") :]
    assert final[0] == ("FROM", "kong:${KONG_VERSION}")
    env = " ".join(arg for kw, arg in final if kw == "ENV")
    assert "KONG_PLUGINS=bundled,mcp-oauth2" in env
    assert 'KONG_ADMIN_LISTEN="127.0.0.1:8001"' in env  # the admin API never leaves the container
    assert ("USER", "kong") in final
    script = ROOT / "gateway" / "kong" / "render-and-start.sh"
    assert script.stat().st_mode & 0o111
    assert "deck file render --populate-env-vars" in script.read_text()


def test_db_provision_job_and_mcp_db_url_work_against_a_real_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compose job's own command provisions a real cluster; mcp-db's URL + PGPASSWORD then logs in."""
    services = compose()["services"]
    job, server = services["db-provision"], services["mcp-db"]
    assert job["image"] == server["image"]  # the db server's own image: its provisioning code, no SQL copy
    assert job["entrypoint"][:2] == ["python", "-c"]
    authenticator_password = "s3cret with spaces & 'quotes'"
    with EmbeddedPostgres(tmp_path) as pg:
        here = f"127.0.0.1:{pg.port}"
        admin_url = job["environment"]["FLEET_DB_ADMIN_URL"]
        assert admin_url == "postgresql://postgres@postgres:5432/postgres"  # no password in the URL
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env |= {
            "FLEET_DB_ADMIN_URL": admin_url.replace("postgres@postgres:5432", f"{SUPERUSER}@{here}"),
            "PGPASSWORD": pg.password,
            "FLEET_DB_AUTHENTICATOR_PASSWORD": authenticator_password,
            "FLEET_DB_PROVISION_DEMO": interpolate(job["environment"]["FLEET_DB_PROVISION_DEMO"], {}),
        }
        done = subprocess.run(
            [sys.executable, *job["entrypoint"][1:]], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert "provisioned" in done.stdout
        url = server["environment"]["FLEET_DB_DATABASE_URL"].replace("postgres:5432", here)
        monkeypatch.setenv("PGPASSWORD", authenticator_password)  # what compose gives mcp-db
        with psycopg.connect(url, connect_timeout=10) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("fleet_authenticator",)
            conn.execute("SET ROLE fleet_reader")
            assert conn.execute("SELECT to_regclass('demo.tickets') IS NOT NULL").fetchone() == (True,)


# every server of the manifest but db, whose compose environment needs a real PostgreSQL (the test above)
@pytest.mark.parametrize("name", [name for name in manifest_servers(Path(__file__)) if name != "db"])
def test_server_runs_with_its_compose_environment_behind_kongs_host(name: str, tmp_path: Path) -> None:
    """The server process accepts exactly the environment compose gives it (on loopback here, not 0.0.0.0,
    and the JWKS from a throwaway issuer instead of AuthGate): the image's HEALTHCHECK command passes, Kong's
    Host `mcp-<name>:<port>` with its own secret and an AuthGate-shaped bearer is served as the username,
    another Host, a missing secret or another server's secret is refused."""
    server = manifest().server(name)
    prefix = env_prefix(name)
    secret = "compose-test-secret-0123456789"
    values = {gateway_secret_var(server): secret, "FLEET_GITEA_TOKEN": "t", "FLEET_WIKI_BOT_PASSWORD": "p"}
    values |= {"FLEET_SENTRY_ORG": "acme", "FLEET_SENTRY_AUTH_TOKEN": "t"}
    # any other server (one `fleet new` made): its required settings get a placeholder, a URL a closed
    # loopback port (whoami never reaches the backend)
    for var, op, _ in REF.findall(" ".join(servers_env(compose(), name).values())):
        if op == ":?" and var not in values:
            values[var] = f"http://127.0.0.1:{free_port()}" if var.endswith("_URL") else "placeholder"
    env = {k: interpolate(v, values) for k, v in servers_env(compose(), name).items()}
    kong_host = env[prefix + "ALLOWED_HOSTS"]
    port = free_port()
    env |= {prefix + "HOST": "127.0.0.1", prefix + "PORT": str(port)}
    if "FLEET_GITEA_TOKEN_FILE" in env:  # what gitea-init writes into the gitea-token volume
        (tmp_path / "token").write_text("0123456789abcdef0123456789abcdef01234567\n")
        env["FLEET_GITEA_TOKEN_FILE"] = str(tmp_path / "token")
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(JwtIssuer()) as issuer:
        env |= {prefix + "ISSUER": issuer.url, prefix + "JWKS_URL": issuer.url + "/jwks"}
        token = issuer.mint(server.resource, scope=f"{name}:read")  # sub = UUID, extra_uid = alice
        _run_compose_server(name, env, kong_host, port, secret, token, tmp_path)


def _run_compose_server(
    name: str, env: dict[str, str], kong_host: str, port: int, secret: str, token: str, tmp_path: Path
) -> None:
    # loopback only: the backends are a closed local port (whoami reaches the tool either way)
    for key in ("FLEET_GITEA_URL", "FLEET_WIKI_URL", "FLEET_SENTRY_BASE_URL"):
        if key in env:
            env[key] = f"http://127.0.0.1:{free_port()}"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FLEET_", "SENTRY_"))}
    run_env = base | env | {"FLEET_SERVER": name, "FLEET_SERVER_PORT": "1"}
    health = next(arg for kw, arg in _dockerfile_instructions(ROOT / "Dockerfile") if kw == "HEALTHCHECK")
    health_cmd = json.loads(health[health.index("CMD") + 3 :])
    script = Path(sys.executable).parent / f"fleet-{name}"
    log = tmp_path / "server.log"
    with log.open("wb") as out, subprocess.Popen([str(script)], env=run_env, stdout=out, stderr=out) as proc:
        try:
            deadline = time.monotonic() + 30
            while subprocess.run(
                [sys.executable, *health_cmd[1:]], env=run_env, capture_output=True
            ).returncode:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the HEALTHCHECK never passed"
                time.sleep(0.1)
            bearer = {"Authorization": f"Bearer {token}"}
            headers = MCP_HEADERS | bearer | {"X-MCP-Gateway-Secret": secret}
            url = f"http://127.0.0.1:{port}/mcp"
            with httpx2.Client(timeout=10, trust_env=False) as http:
                ok = http.post(url, json=call_body("whoami"), headers=headers | {"Host": kong_host})
                assert ok.status_code == 200, ok.text
                # through the secret, token and Host checks into MCP: a tool result (for sentry a
                # backend error, its whoami looks the caller up in Sentry)
                assert ok.json()["result"]["content"]
                if name != "sentry":
                    who = ok.json()["result"]["structuredContent"]
                    assert (who["subject"], who["account"]) == (dev_subject("alice"), "alice")
                another = headers | {"X-MCP-Gateway-Secret": "another-servers-secret-0123", "Host": kong_host}
                assert http.post(url, json=call_body("whoami"), headers=another).status_code == 401
                other_host = http.post(url, json=call_body("whoami"), headers=headers | {"Host": "evil:80"})
                assert other_host.status_code in (400, 403, 421)
                no_secret = {k: v for k, v in headers.items() if k != "X-MCP-Gateway-Secret"}
                refused = http.post(url, json=call_body("whoami"), headers=no_secret | {"Host": kong_host})
                assert refused.status_code == 401
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_f1_kong_can_write_its_rendered_config_to_the_tmpfs() -> None:
    """runc gives a tmpfs the mode of the directory it covers, root-owned: the image makes that 1777 and
    the compose entry sets mode=1777 itself (the last mode= wins), so user kong can write there."""
    (tmpfs,) = compose()["services"]["kong"]["tmpfs"]
    target, _, options = tmpfs.partition(":")
    assert target == "/run/kong-fleet"
    assert "mode=1777" in options.split(",")
    instructions = _dockerfile_instructions(ROOT / "gateway" / "kong" / "Dockerfile")
    assert ("RUN", "install -d -m 1777 /run/kong-fleet") in instructions
    env = " ".join(arg for kw, arg in instructions if kw == "ENV")
    assert "KONG_DECLARATIVE_CONFIG=/run/kong-fleet/kong.yml" in env
    script = (ROOT / "gateway" / "kong" / "render-and-start.sh").read_text()
    assert "umask 077" in script  # the rendered file (it holds the secrets) stays kong-only


def test_f2_authgate_runs_on_its_own_postgresql() -> None:
    services = compose()["services"]
    authgate, db = services["authgate"], services["authgate-db"]
    env = authgate["environment"]
    assert env["DATABASE_DRIVER"] == "postgres"  # the cgo-less image can't open SQLite
    dsn = interpolate(env["DATABASE_DSN"], {"AUTHGATE_DB_PASSWORD": "00ff"})
    assert dsn == "host=authgate-db port=5432 user=authgate dbname=authgate sslmode=disable password=00ff"
    assert required_var(db["environment"]["POSTGRES_PASSWORD"]) == "AUTHGATE_DB_PASSWORD"
    assert authgate["depends_on"] == {"authgate-db": {"condition": "service_healthy"}}
    assert db["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert "authgate-data" not in compose()["volumes"]
    assert "volumes" not in authgate  # nothing stored in the AuthGate container


def test_f4_f5_f6_versions_are_pinned_with_how_they_were_verified() -> None:
    kong = _dockerfile_instructions(ROOT / "gateway" / "kong" / "Dockerfile")
    args = dict(arg.split("=", 1) for kw, arg in kong if kw == "ARG" and "=" in arg)
    assert re.fullmatch(r"[0-9a-f]{40}", args["MCP_OAUTH2_VERSION"]), "the plugin is pinned to a commit"
    assert args["MCP_OAUTH2_MODULE"] == "github.com/go-authgate/kong-mcp-oauth2"  # F9: go.mod's path
    assert args["DECK_VERSION"] == "v1.65.1"
    text = (ROOT / "gateway" / "kong" / "Dockerfile").read_text()
    for evidence in ("93e793b0c3cd0109d51ae4cce71ba3bfba7981c4", 'Version = "0.6.0"', "4657ee37"):
        assert evidence in text
    build_arg = compose()["services"]["kong"]["build"]["args"]["MCP_OAUTH2_VERSION"]
    assert interpolate(build_arg, {}) == args["MCP_OAUTH2_VERSION"]
    assert "latest" not in (ROOT / "compose.yaml").read_text()
    # AuthGate: no default at all, rather than one without RFC 8707 (every call would be 401)
    image = compose()["services"]["authgate"]["image"]
    with pytest.raises(LookupError, match="AUTHGATE_VERSION is required: an AuthGate/Signet release"):
        interpolate(image, {})
    assert interpolate(image, {"AUTHGATE_VERSION": "0.31.0"}) == "ghcr.io/go-authgate/authgate:0.31.0"


def test_f12_hardening_defaults_are_off() -> None:
    services = compose()["services"]
    kong = _dockerfile_instructions(ROOT / "gateway" / "kong" / "Dockerfile")
    env = " ".join(arg for kw, arg in kong if kw == "ENV")
    for setting in ("KONG_ADMIN_GUI_LISTEN=off", "KONG_ANONYMOUS_REPORTS=off", "DECK_ANALYTICS=off"):
        assert setting in env
    gitea = services["gitea"]["environment"]
    assert required_var(gitea["GITEA__security__SECRET_KEY"]) == "FLEET_GITEA_SECRET_KEY"
    authgate = services["authgate"]
    assert authgate["read_only"] is True
    assert authgate["cap_drop"] == ["ALL"]
    assert authgate["tmpfs"] == ["/tmp"]
    assert authgate["security_opt"] == ["no-new-privileges:true"]


def test_f10_authgate_env_example_is_a_complete_config() -> None:
    """The settings AuthGate's Validate needs together (v0.30.0 internal/config/config.go): RS256 with a
    key path, an expiry with a jitter below it, a session secret, PostgreSQL; CORS not half-enabled."""
    text = (ROOT / "gateway" / "authgate.env.example").read_text()
    settings = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert settings["JWT_SIGNING_ALGORITHM"] == "RS256"
    assert "JWT_PRIVATE_KEY_PATH" in settings
    assert settings["JWT_EXPIRATION"] == f"{manifest().issuer.access_token_ttl_seconds}s"
    assert settings["JWT_EXPIRATION_JITTER"] == "0s"
    assert settings["REFRESH_TOKEN_EXPIRATION"] == f"{manifest().issuer.refresh_token_ttl_seconds}s"
    assert {"SESSION_SECRET", "DEFAULT_ADMIN_PASSWORD", "DATABASE_DSN"} <= set(settings)
    assert settings["DATABASE_DRIVER"] == "postgres"
    assert "CORS_ENABLED" not in settings  # enabled with no origins would reject every browser client
    assert "JWT_AUDIENCE" not in settings


def test_wiki_init_sets_the_wiki_up_before_mediawiki_and_mcp_wiki_start() -> None:
    """No manual MediaWiki step: the one-shot job (fleet_wiki.provision, tested against the real MediaWiki
    in servers/wiki/tests/test_wiki_provision.py) runs in the mediawiki image on the wiki's volume."""
    services = compose()["services"]
    job = services["wiki-init"]
    assert job["build"] == {"context": ".", "dockerfile": "servers/wiki/init.Dockerfile"}
    assert job["restart"] == "no"
    assert job["volumes"] == ["mediawiki-data:/var/www/data"]
    assert job["networks"] == ["wiki-backend"]  # internal: it needs no network at all
    assert required_var(job["environment"]["FLEET_WIKI_BOT_PASSWORD"]) == "FLEET_WIKI_BOT_PASSWORD"
    assert required_var(job["environment"]["MW_ADMIN_PASSWORD"]) == "FLEET_WIKI_ADMIN_PASSWORD"
    done = {"wiki-init": {"condition": "service_completed_successfully"}}
    assert services["mediawiki"]["depends_on"] == done
    assert services["mcp-wiki"]["depends_on"]["wiki-init"] == done["wiki-init"]
    assert services["mcp-wiki"]["environment"]["FLEET_WIKI_BOT_USERNAME"] == "Fleetbot@fleet"
    dockerfile = _dockerfile_instructions(ROOT / "servers" / "wiki" / "init.Dockerfile")
    assert ("FROM", services["mediawiki"]["image"]) in dockerfile
    assert ("COPY", "servers/wiki/src/fleet_wiki/provision.py /opt/fleet/wiki_provision.py") in dockerfile
    assert (ROOT / "servers/wiki/src/fleet_wiki/provision.py").is_file()


def test_gitea_init_makes_the_service_account_and_hands_its_token_to_mcp_gitea_only() -> None:
    """No manual Gitea step: the one-shot job (fleet_gitea.provision, tested against a fake of Gitea's
    admin CLI in servers/gitea/tests/test_gitea_provision.py) writes the token to a volume that only it
    and mcp-gitea (read-only) mount."""
    services = compose()["services"]
    job = services["gitea-init"]
    assert job["build"] == {"context": ".", "dockerfile": "servers/gitea/init.Dockerfile"}
    assert job["restart"] == "no"
    assert set(job["volumes"]) == {"gitea-data:/data", "gitea-token:/run/fleet-gitea"}
    assert job["networks"] == ["gitea-backend"]
    server = services["mcp-gitea"]
    assert server["volumes"] == ["gitea-token:/run/fleet-gitea:ro"]
    assert server["environment"]["FLEET_GITEA_TOKEN_FILE"] == "/run/fleet-gitea/token"
    assert "FLEET_GITEA_TOKEN" not in server["environment"]
    assert server["depends_on"]["gitea-init"] == {"condition": "service_completed_successfully"}
    holders = {
        name
        for name, s in services.items()
        if any(v.startswith("gitea-token:") for v in s.get("volumes", []))
    }
    assert holders == {"gitea-init", "mcp-gitea"}
    dockerfile = _dockerfile_instructions(ROOT / "servers" / "gitea" / "init.Dockerfile")
    assert ("FROM", services["gitea"]["image"]) in dockerfile
    assert ("USER", "git") in dockerfile  # Gitea's CLI refuses to run as root
    assert ("COPY", "servers/gitea/src/fleet_gitea/provision.py /opt/fleet/gitea_provision.py") in dockerfile


@pytest.mark.parametrize("module", ["compose.py", "stack.py"])
def test_the_stack_generator_names_no_server(module: str) -> None:
    """What a server needs in the stack comes from its deploy hook (fleet_core.deploy), so a server added
    with `fleet new` needs no edit here: the generator's code mentions no server of the manifest."""
    source = (ROOT / "frontdoor" / "src" / "fleet_frontdoor" / module).read_text()
    code = "\n".join(line.split("#", 1)[0] for line in source.splitlines())
    for name in manifest_servers(MANIFEST):
        prefix, package = env_prefix(name), package_name(name)
        named = re.findall(rf"[\"']{re.escape(name)}[\"'-]|{prefix}|{package}\b", code)
        assert not named, f"{module} names {name}: {named}"


def test_stack_init_fills_the_secrets_each_deploy_hook_names(tmp_path: Path) -> None:
    from fleet_frontdoor.compose import backends
    from fleet_frontdoor.stack import init_stack

    result = init_stack(manifest(), tmp_path)
    wanted = {name for backend in backends(manifest()).values() for name in backend.generated_secrets}
    assert wanted
    assert wanted <= set(result.generated)
    assert not wanted & set(result.to_fill)


def test_authgate_init_registers_the_manifest_clients_and_hands_them_to_the_operator_only() -> None:
    """No manual AuthGate step: the one-shot job (fleet_frontdoor.authgate_init, tested against a fake of
    AuthGate's admin web UI in test_authgate_init.py) gets the clients of fleet.toml, the admin password and
    the gateway origin, and writes what AuthGate generates to the operator's .secrets/ only."""
    services = compose()["services"]
    job = services["authgate-init"]
    assert job["build"] == {"context": ".", "dockerfile": "gateway/authgate-init.Dockerfile"}
    assert job["restart"] == "no"
    assert job["depends_on"] == {"authgate": {"condition": "service_healthy"}}
    env = job["environment"]
    assert env["FLEET_AUTHGATE_URL"] == "http://authgate:8080"
    assert required_var(env["FLEET_AUTHGATE_ADMIN_PASSWORD"]) == "AUTHGATE_ADMIN_PASSWORD"
    assert interpolate(env["FLEET_GATEWAY_ORIGIN"], {}) == manifest().gateway.origin
    assert (
        interpolate(env["FLEET_GATEWAY_ORIGIN"], {GATEWAY_ORIGIN_VAR: "https://mcp.example"})
        == "https://mcp.example"
    )
    clients = {c["name"]: c for c in json.loads(env["FLEET_AUTHGATE_CLIENTS"])}
    assert set(clients) == {c.client_id for c in manifest().clients}
    # F8: AuthGate matches redirect URIs exactly, so the loopback redirect is registered on the fixed port
    assert clients["fleet-client"]["redirect_uris"] == ["http://127.0.0.1:8765/callback"]
    assert clients["ci-bot"]["type"] == "confidential"
    bot = manifest().client("ci-bot")
    assert bot is not None
    assert clients["ci-bot"]["scopes"] == list(bot.scopes)
    assert clients["ci-bot"]["resources"] == [s.path for s in manifest().enabled_servers]
    # the generated ids and secrets: the operator's directory on the host, no volume another service mounts
    assert job["volumes"] == ["./.secrets/authgate-clients:/run/fleet-authgate"]
    assert not any(
        "authgate-clients" in v
        for name, s in services.items()
        if name != "authgate-init"
        for v in s.get("volumes", [])
    )
    assert (job["read_only"], job["cap_drop"], job["cap_add"]) == (True, ["ALL"], ["CHOWN", "DAC_OVERRIDE"])
    assert job["security_opt"] == ["no-new-privileges:true"]
    dockerfile = _dockerfile_instructions(ROOT / "gateway" / "authgate-init.Dockerfile")
    assert ("FROM", "python:3.11-slim-bookworm") in dockerfile
    assert (
        "COPY",
        "frontdoor/src/fleet_frontdoor/authgate_init.py /opt/fleet/authgate_init.py",
    ) in dockerfile
    # standard library only: the image has nothing else
    source = (ROOT / "frontdoor/src/fleet_frontdoor/authgate_init.py").read_text()
    imports = re.findall(r"^(?:from|import) ([a-z_.]+)", source, re.MULTILINE)
    assert {name.split(".")[0] for name in imports} <= sys.stdlib_module_names | {"__future__"}
