"""fleet_frontdoor.authgate_init (the compose stack's authgate-init job) against a fake of AuthGate's admin
web UI built from its source (fleet_frontdoor.fake_authgate: v0.30.0's routes, middleware, client service and
page markup), for exactly the calls the job makes."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from fleet_core.testing import manifest_servers
from fleet_frontdoor.authgate_init import AdminSession, ClientSpec, InitError, main, run
from fleet_frontdoor.compose import authgate_client_specs
from fleet_frontdoor.fake_authgate import FakeAuthGate, FakeClient, running
from fleet_frontdoor.manifest import load_manifest

ROOT = Path(__file__).resolve().parents[2]
SERVERS = manifest_servers(ROOT)
PASSWORD = "0123456789abcdef0123456789abcdef"
ORIGIN = "https://mcp.example.com"


def specs() -> list[ClientSpec]:
    return [ClientSpec.from_json(s) for s in authgate_client_specs(load_manifest(ROOT / "fleet.toml"))]


def clients_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "authgate-clients"
    directory.mkdir(mode=0o700)
    return directory


def by_name(fake: FakeAuthGate, name: str) -> list[FakeClient]:
    return [c for c in fake.clients.values() if c.name == name]


def posts(fake: FakeAuthGate) -> list[str]:
    return [path for method, path in fake.requests if method == "POST" and path != "/login"]


def test_registers_the_manifest_clients_once_and_hands_over_ids_and_the_secret(tmp_path: Path) -> None:
    fake = FakeAuthGate(admin_password=PASSWORD)
    out = clients_dir(tmp_path)
    with running(fake) as url:
        steps = run(url, "admin", PASSWORD, specs(), out, ORIGIN)
        (public,) = by_name(fake, "fleet-client")
        (bot,) = by_name(fake, "ci-bot")
        # fleet-client: public, code + device, the fixed-port loopback redirect (F8), every server's scopes
        assert (public.client_type, public.auth_code, public.device, public.client_credentials) == (
            "public",
            True,
            True,
            False,
        )
        assert public.redirect_uris == ["http://127.0.0.1:8765/callback"]
        assert public.scopes.split() == [f"{s}:{m}" for s in SERVERS for m in ("read", "write")]
        # ci-bot: confidential, client credentials only, its own scopes
        assert (bot.client_type, bot.client_credentials, bot.device, bot.auth_code) == (
            "confidential",
            True,
            False,
            False,
        )
        assert bot.scopes == " ".join(f"{s}:read" for s in SERVERS)
        assert public.status == bot.status == "active"
        # what the operator and `fleet stack verify --clients` get: ids in clients.json, the secret in a 0600
        # file, nothing secret in clients.json
        secret_file = out / "ci-bot.secret"
        secret = secret_file.read_text().strip()
        assert fake.check_secret(bot.client_id, secret)
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        state = json.loads((out / "clients.json").read_text())["clients"]
        assert state["fleet-client"]["client_id"] == public.client_id
        assert state["ci-bot"]["client_id"] == bot.client_id
        assert state["ci-bot"]["secret_file"] == "ci-bot.secret"
        assert state["fleet-client"]["secret_file"] is None
        assert state["ci-bot"]["resources"] == [f"{ORIGIN}/mcp/{s}" for s in SERVERS]
        assert public.secret not in (out / "clients.json").read_text()
        assert secret not in (out / "clients.json").read_text()
        assert not (out / "fleet-client.secret").exists()  # a public client's secret is never kept
        assert any("no per-client allowed resources" in s for s in steps)
        # idempotent: the second run changes nothing in AuthGate and keeps the secret
        fake.requests.clear()
        again = run(url, "admin", PASSWORD, specs(), out, ORIGIN)
        assert posts(fake) == []
        assert again[:2] == [
            f"fleet-client: up to date ({public.client_id})",
            f"ci-bot: up to date ({bot.client_id})",
        ]
        assert (out / "ci-bot.secret").read_text().strip() == secret
        assert len(fake.clients) == 3  # AuthGate's own seeded "AuthGate CLI" and the two


def test_a_lost_secret_lost_state_deleted_client_or_changed_manifest_converge_without_duplicates(
    tmp_path: Path,
) -> None:
    fake = FakeAuthGate(admin_password=PASSWORD)
    out = clients_dir(tmp_path)
    with running(fake) as url:
        run(url, "admin", PASSWORD, specs(), out, ORIGIN)
        (bot,) = by_name(fake, "ci-bot")
        old = (out / "ci-bot.secret").read_text().strip()
        # the secret file lost: a new secret, the old one stops working
        (out / "ci-bot.secret").unlink()
        steps = run(url, "admin", PASSWORD, specs(), out, ORIGIN)
        assert "ci-bot: new client secret (the old one no longer works)" in steps
        new = (out / "ci-bot.secret").read_text().strip()
        assert not fake.check_secret(bot.client_id, old)
        assert fake.check_secret(bot.client_id, new)
        # clients.json lost: the clients are found by name and adopted, not registered twice
        (out / "clients.json").unlink()
        steps = run(url, "admin", PASSWORD, specs(), out, ORIGIN)
        assert f"ci-bot: adopted the existing client {bot.client_id}" in steps
        assert len(by_name(fake, "ci-bot")) == len(by_name(fake, "fleet-client")) == 1
        assert fake.check_secret(bot.client_id, (out / "ci-bot.secret").read_text().strip())
        # deleted in the admin UI: registered again under a new id
        del fake.clients[bot.client_id]
        steps = run(url, "admin", PASSWORD, specs(), out, ORIGIN)
        (again,) = by_name(fake, "ci-bot")
        assert again.client_id != bot.client_id
        assert f"ci-bot: recorded client {bot.client_id} is gone from AuthGate, registering it again" in steps
        assert fake.check_secret(again.client_id, (out / "ci-bot.secret").read_text().strip())
        # fleet.toml changed (a scope fewer): the client is updated in place, its secret kept
        secret = (out / "ci-bot.secret").read_text()
        narrower = [
            ClientSpec(**{**s.__dict__, "scopes": ("db:read",)}) if s.name == "ci-bot" else s for s in specs()
        ]
        steps = run(url, "admin", PASSWORD, narrower, out, ORIGIN)
        assert f"ci-bot: settings converged on fleet.toml ({again.client_id})" in steps
        assert again.scopes == "db:read"
        assert (out / "ci-bot.secret").read_text() == secret
        # two clients of one name (made by hand): refused, naming what to do
        (out / "clients.json").unlink()
        fake.clients["x"] = FakeClient(**{**again.__dict__, "client_id": "x"})
        # (the sixth login within a minute: AuthGate's LOGIN_RATE_LIMIT, said as such)
        with pytest.raises(InitError, match=r"HTTP 429, rate limit\): run again later"):
            run(url, "admin", PASSWORD, specs(), out, ORIGIN)
        fake.logins.clear()  # a minute later
        with pytest.raises(InitError, match="2 clients named ci-bot: delete the extra ones"):
            run(url, "admin", PASSWORD, specs(), out, ORIGIN)


def test_the_job_prints_no_secret_and_names_what_went_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # ENVIRONMENT=production: AuthGate marks its cookie Secure; the job still talks plain http inside
    fake = FakeAuthGate(admin_password=PASSWORD, production=True)
    out = clients_dir(tmp_path)
    with running(fake) as url:
        monkeypatch.setenv("FLEET_AUTHGATE_URL", url)
        monkeypatch.setenv("FLEET_AUTHGATE_ADMIN_PASSWORD", PASSWORD)
        monkeypatch.setenv("FLEET_AUTHGATE_CLIENTS_DIR", str(out))
        monkeypatch.setenv("FLEET_GATEWAY_ORIGIN", ORIGIN)
        monkeypatch.setenv(
            "FLEET_AUTHGATE_CLIENTS", json.dumps(authgate_client_specs(load_manifest(ROOT / "fleet.toml")))
        )
        main()
        printed = capsys.readouterr().out
        (bot,) = by_name(fake, "ci-bot")
        assert f"authgate-init: ci-bot: registered as {bot.client_id}" in printed
        for client in fake.clients.values():
            assert client.secret not in printed
        assert PASSWORD not in printed
        # the admin's password changed in the UI but not in .env
        monkeypatch.setenv("FLEET_AUTHGATE_ADMIN_PASSWORD", "not-the-password")
        with pytest.raises(SystemExit) as refused:
            main()
        assert "AUTHGATE_ADMIN_PASSWORD must be the admin's current password" in str(refused.value.code)
        assert "not-the-password" not in str(refused.value.code)
        # no directory from `fleet stack init`
        monkeypatch.setenv("FLEET_AUTHGATE_ADMIN_PASSWORD", PASSWORD)
        monkeypatch.setenv("FLEET_AUTHGATE_CLIENTS_DIR", str(tmp_path / "missing"))
        with pytest.raises(SystemExit, match="run `uv run fleet stack init`"):
            main()
    # AuthGate not up: it waits, then says so
    slept: list[float] = []
    with pytest.raises(InitError, match="/health did not answer 200"):
        run("http://127.0.0.1:9", "admin", PASSWORD, specs(), out, ORIGIN, wait_seconds=3, sleep=slept.append)
    assert slept == [1.0, 1.0, 1.0]
    with pytest.raises(InitError, match="type must be public or confidential"):
        ClientSpec.from_json({"name": "x", "type": "secret"})
    with pytest.raises(InitError, match="letters, digits"):
        ClientSpec.from_json({"name": "../etc", "type": "public"})  # it names the secret file


def test_the_fake_enforces_what_authgate_enforces(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake is not lenient where AuthGate is not: so the job's session, CSRF and form are proven."""
    fake = FakeAuthGate(admin_password=PASSWORD)
    with running(fake) as url:
        anonymous = AdminSession(url)
        answer = anonymous.request("GET", "/admin/clients/new")
        assert (answer.status, answer.header("Location")) == (302, "/login?redirect=%2Fadmin%2Fclients%2Fnew")
        session = AdminSession(url)
        session.login("admin", PASSWORD)
        form = ClientSpec.from_json(
            {"name": "t", "type": "public", "grant_types": ["client_credentials"]}
        ).form()
        # the job's CSRF token is what makes a POST pass
        token, session.csrf = session.csrf, ""
        assert session.request("POST", "/admin/clients", form).status == 403
        session.csrf = token
        refused = session.request("POST", "/admin/clients", form)
        assert refused.status == 400
        assert "client credentials flow requires a confidential client" in refused.body
        # another User-Agent with the same cookie: the session fingerprint no longer matches
        stolen = session.request("GET", "/admin/clients")
        assert stolen.status == 200
        monkeypatch.setattr("fleet_frontdoor.authgate_init.USER_AGENT", "curl/8")
        hijacked = session.request("GET", "/admin/clients")
        assert hijacked.status == 302
        assert "error=session_invalid" in urllib.parse.unquote(hijacked.header("Location"))


def test_the_image_runs_the_file_alone_with_the_standard_library(tmp_path: Path) -> None:
    """As gateway/authgate-init.Dockerfile runs it: `python3 -I authgate_init.py`, a copy of the file with no
    package around it and no site-packages, configured by the environment compose gives it."""
    script = tmp_path / "authgate_init.py"
    script.write_text((ROOT / "frontdoor/src/fleet_frontdoor/authgate_init.py").read_text())
    fake = FakeAuthGate(admin_password=PASSWORD)
    out = clients_dir(tmp_path)
    with running(fake) as url:
        env = {
            "PATH": "/usr/bin:/bin",
            "FLEET_AUTHGATE_URL": url,
            "FLEET_AUTHGATE_ADMIN_PASSWORD": PASSWORD,
            "FLEET_AUTHGATE_CLIENTS_DIR": str(out),
            "FLEET_GATEWAY_ORIGIN": ORIGIN,
            "FLEET_AUTHGATE_CLIENTS": json.dumps(authgate_client_specs(load_manifest(ROOT / "fleet.toml"))),
        }
        done = subprocess.run(
            [sys.executable, "-I", "-S", str(script)], env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 0, done.stderr
    (bot,) = by_name(fake, "ci-bot")
    assert f"authgate-init: ci-bot: registered as {bot.client_id}\n" in done.stdout
    assert bot.secret not in done.stdout + done.stderr
    assert fake.check_secret(bot.client_id, (out / "ci-bot.secret").read_text().strip())
