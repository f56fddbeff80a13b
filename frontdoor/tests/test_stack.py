"""`fleet stack init` (fresh secrets, key permissions, no overwrite), the real Compose v2 on its result,
and `fleet stack verify` against a real `fleet dev` and against a front door with a check broken."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fleet_core import ServerSettings, build_app, create_server, dev_subject
from fleet_core.testing import free_port
from fleet_frontdoor.cli import main
from fleet_frontdoor.manifest import load_manifest
from fleet_frontdoor.testing import compose_binary, front_door
from fleet_frontdoor.topology import gateway_secret_var
from fleet_frontdoor.verify import Verifier

ROOT = Path(__file__).resolve().parents[2]
DOCKER_COMPOSE = compose_binary()  # the real Compose v2 (Go) binary, from the dev group
OPERATOR_VALUES = {  # what only the operator can give (README "Full stack")
    "AUTHGATE_VERSION": "0.31.0",
    "FLEET_SENTRY_ORG": "acme",
    "FLEET_SENTRY_AUTH_TOKEN": "sntrys_test",
}


def stack_copy(tmp_path: Path) -> Path:
    """The files compose reads, as in a fresh clone (compose.yaml refers to build contexts by path)."""
    for rel in (
        "servers/wiki/init.Dockerfile",
        "servers/gitea/init.Dockerfile",
        "gateway/authgate-init.Dockerfile",
        "fleet.toml",
        "compose.yaml",
        "Dockerfile",
        "gateway/kong.compose.yml",
        "gateway/kong/Dockerfile",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    return tmp_path


def run_init(root: Path, *extra: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(["--manifest", str(root / "fleet.toml"), "stack", "init", *extra])
    return int(exit_info.value.code or 0)


def env_values(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_init_writes_fresh_secrets_0600_and_a_key_authgate_can_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = stack_copy(tmp_path)
    assert run_init(root) == 0
    out = capsys.readouterr().out
    env = root / ".env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    values = env_values(env)
    manifest = load_manifest(root / "fleet.toml")
    secrets = [values[gateway_secret_var(s)] for s in manifest.enabled_servers]
    secrets += [values[k] for k in ("AUTHGATE_JWT_SECRET", "AUTHGATE_SESSION_SECRET", "AUTHGATE_DB_PASSWORD")]
    secrets += [values[k] for k in ("FLEET_POSTGRES_PASSWORD", "FLEET_DB_AUTHENTICATOR_PASSWORD")]
    assert all(len(s) == 64 and int(s, 16) >= 0 for s in secrets)  # hex: safe in a DSN and a header
    assert len(set(secrets)) == len(secrets)  # one gateway secret per server, nothing reused
    for secret in secrets:
        assert secret not in out  # never printed
    # what only the operator can give is left empty and named
    for name in OPERATOR_VALUES:
        assert values[name] == ""
        assert name in out
    # and nothing else is left by hand (the AuthGate clients are authgate-init's): README "Full stack"
    assert "still to fill in .env: " + ", ".join(OPERATOR_VALUES) in out
    # F3: the key is readable by AuthGate's uid 1000 inside the bind mount, the directory protects it
    key = root / values["AUTHGATE_JWT_KEY_FILE"]
    assert stat.S_IMODE(key.stat().st_mode) == 0o644
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.key_size == 2048
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, as AuthGate's key.go reads
    # authgate-init's directory for the generated client ids and secrets: the operator's, 0700
    clients = root / ".secrets" / "authgate-clients"
    assert clients.is_dir()
    assert stat.S_IMODE(clients.stat().st_mode) == 0o700
    assert f"--clients {clients.relative_to(root)}" in out


def test_init_never_overwrites_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = stack_copy(tmp_path)
    assert run_init(root) == 0
    before = (root / ".env").read_text()
    assert run_init(root) == 1
    assert "exists" in capsys.readouterr().err
    assert (root / ".env").read_text() == before
    assert run_init(root, "--force") == 0
    after = env_values(root / ".env")
    assert after["AUTHGATE_SESSION_SECRET"] != env_values_from(before)["AUTHGATE_SESSION_SECRET"]
    assert stat.S_IMODE((root / ".env").stat().st_mode) == 0o600


def env_values_from(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def compose_config(root: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLEET_", "AUTHGATE_", "COMPOSE_"))}
    return subprocess.run(
        [str(DOCKER_COMPOSE), "--project-directory", str(root), "config", "-q"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_real_compose_accepts_the_stack_from_init_and_refuses_it_without(tmp_path: Path) -> None:
    assert DOCKER_COMPOSE.is_file()
    version = subprocess.run([str(DOCKER_COMPOSE), "version"], capture_output=True, text=True, check=True)
    assert "Docker Compose version v2." in version.stdout
    root = stack_copy(tmp_path)
    (root / ".env").write_text("")
    refused = compose_config(root)
    assert refused.returncode != 0
    assert "required variable" in refused.stderr
    (root / ".env").unlink()
    assert run_init(root) == 0
    missing = compose_config(root)
    assert missing.returncode != 0  # the operator's values (AuthGate release, Sentry) are still empty
    with (root / ".env").open("a") as env:
        env.writelines(f"{name}={value}\n" for name, value in OPERATOR_VALUES.items())
    accepted = compose_config(root)
    assert accepted.returncode == 0, accepted.stderr


# --- fleet stack verify ------------------------------------------------------------------------------


def test_verify_takes_the_client_authgate_init_registered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--clients DIR`: the id AuthGate generated for fleet.toml's client-credentials client and its secret
    file, as authgate-init writes them (test_authgate_init.py); a missing or empty one is named."""
    directory = tmp_path / "authgate-clients"
    directory.mkdir()
    argv = ["--manifest", str(ROOT / "fleet.toml"), "stack", "verify", "--origin", "http://127.0.0.1:9"]
    with pytest.raises(SystemExit) as missing:
        main([*argv, "--clients", str(directory)])
    assert missing.value.code == 1
    assert "no registered client 'ci-bot' with a secret (has authgate-init run?" in capsys.readouterr().out
    client_id = "9b2d7c1e-5f4a-4e8b-9c3d-2a1b0c9d8e7f"
    record = {"client_id": client_id, "secret_file": "ci-bot.secret"}
    (directory / "clients.json").write_text(json.dumps({"clients": {"ci-bot": record}}))
    (directory / "ci-bot.secret").write_text("ago_registered-secret\n")
    seen: list[tuple[str, str]] = []

    def fake_run(self: Verifier) -> bool:
        seen.append((self.client_id, self.client_secret))
        return True

    monkeypatch.setattr(Verifier, "run", fake_run)
    with pytest.raises(SystemExit) as passed:
        main([*argv, "--clients", str(directory)])
    assert passed.value.code == 0
    assert seen == [(client_id, "ago_registered-secret")]
    assert "ago_registered-secret" not in capsys.readouterr().out


def _manifest_text(gateway: int, issuer: int, servers: dict[str, int]) -> str:
    text = (
        f'[gateway]\norigin = "http://127.0.0.1:{gateway}"\n\n[issuer]\nurl = "http://127.0.0.1:{issuer}"\n\n'
    )
    for name, port in servers.items():
        text += f'[[servers]]\nname = "{name}"\nupstream = "http://127.0.0.1:{port}"\n'
        text += f'scopes = ["{name}:read"]\n\n'
    scopes = ", ".join(f'"{name}:read"' for name in servers)
    text += f'[[dev.users]]\nname = "alice"\nscopes = [{scopes}]\n\n'
    text += '[[clients]]\nclient_id = "verify-bot"\ntype = "confidential"\n'
    text += 'secret_env = "FLEET_VERIFY_BOT_SECRET"\n'
    text += f'grant_types = ["client_credentials"]\nscopes = [{scopes}]\n'
    return text


@contextlib.contextmanager
def _stopping(process: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    try:
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_verify_passes_against_fleet_dev(tmp_path: Path) -> None:
    """`fleet stack verify` against a real `fleet dev` (two servers, the production topology)."""
    ports = {"gateway": free_port(), "issuer": free_port(), "gitea": free_port(), "sentry": free_port()}
    path = tmp_path / "fleet.toml"
    path.write_text(
        _manifest_text(
            ports["gateway"], ports["issuer"], {"gitea": ports["gitea"], "sentry": ports["sentry"]}
        )
    )
    fleet = Path(sys.executable).parent / "fleet"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_")}
    env["FLEET_VERIFY_BOT_SECRET"] = "verify-bot-secret-0123456789"
    argv = [str(fleet), "--manifest", str(path), "dev", "--no-live", "--state-dir", str(tmp_path / "state")]
    lines: list[str] = []
    with anyio.fail_after(120):
        async with await anyio.open_process(argv, stderr=subprocess.STDOUT, env=env) as process:
            assert process.stdout is not None
            reader = BufferedByteReceiveStream(process.stdout)
            try:
                while not lines or not lines[-1].startswith("fleet dev: ready in"):
                    try:
                        lines.append((await reader.receive_until(b"\n", 65536)).decode())
                    except (anyio.EndOfStream, anyio.IncompleteRead):
                        pytest.fail("fleet dev exited early:\n" + "".join(lines))
                assert "gitea: ready" in "".join(lines)
                origin = f"http://127.0.0.1:{ports['gateway']}"
                verify = [str(fleet), "--manifest", str(path), "stack", "verify", "--origin", origin]
                done = await anyio.run_process(verify, env=env, check=False)
            finally:
                process.send_signal(signal.SIGINT)
                with anyio.move_on_after(20):
                    await process.wait()
    report = done.stdout.decode()
    assert done.returncode == 0, report + done.stderr.decode()
    for check in (
        "ok   gitea: 401 challenge and protected resource metadata",
        "ok   authorization server metadata (RFC 8414, issuer)",
        "ok   gitea: client-credentials token → whoami (subject client:verify-bot, account verify-bot)",
        "ok   sentry: spoofed X-MCP-* headers are ignored",
        "ok   gitea: a token for sentry is refused",
        "passed: 0 check(s) failed",
    ):
        assert check in report, report


def _without_challenge(app: ASGIApp) -> ASGIApp:
    """The dev gateway with one check deliberately broken: its 401s lose their WWW-Authenticate."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def patched_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                message = {
                    **message,
                    "headers": [h for h in message["headers"] if h[0] != b"www-authenticate"],
                }
            await send(message)

        await app(scope, receive, patched_send)

    return wrapped


@contextlib.asynccontextmanager
async def _door_with(tmp_path: Path, *, broken: bool, strip: bool = False) -> AsyncIterator[str]:
    """The dev authorization server + dev gateway + two whoami-only servers in the production topology
    (or, with `strip`, the gateway-secret-only topology with the user map)."""
    manifest_text = _manifest_text(free_port(), free_port(), {"echo": free_port(), "other": free_port()})
    if strip:
        manifest_text = manifest_text.replace("[gateway]\n", '[gateway]\nupstream_auth_mode = "strip"\n', 1)
    (tmp_path / "fleet.toml").write_text(manifest_text)
    base = load_manifest(tmp_path / "fleet.toml")
    wrap = _without_challenge if broken else None
    async with (
        front_door(tmp_path / "state", ["echo", "other"], manifest=base, wrap_gateway=wrap) as door,
        contextlib.AsyncExitStack() as stack,
    ):
        for name in ("echo", "other"):
            settings = ServerSettings.model_validate(door.server_settings(name))
            await stack.enter_async_context(door.upstream(name, build_app(create_server(name), settings)))
        yield door.origin


@pytest.mark.parametrize("broken", [False, True])
async def test_verify_fails_against_a_gateway_with_a_check_broken(
    tmp_path: Path, broken: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same front door passes; with its 401 challenge removed (a client could no longer discover the
    authorization server) verify fails and names the check."""
    monkeypatch.setenv("FLEET_VERIFY_BOT_SECRET", "verify-bot-secret-0123456789")
    lines: list[str] = []
    async with _door_with(tmp_path, broken=broken) as origin:
        manifest = load_manifest(tmp_path / "fleet.toml")

        def run() -> bool:
            with httpx2.Client(timeout=15, trust_env=False) as http:
                servers = list(manifest.enabled_servers)
                verifier = Verifier(
                    origin, servers, "verify-bot", "verify-bot-secret-0123456789", http, lines.append
                )
                return verifier.run()

        with anyio.fail_after(60):
            ok = await anyio.to_thread.run_sync(run)
    assert ok is not broken, "\n".join(lines)
    if broken:
        assert any(line.startswith("FAIL echo: 401 challenge") for line in lines), lines
        assert lines[-1] == "FAILED: 2 check(s) failed"


def test_the_dev_gateway_sends_each_server_its_own_secret(tmp_path: Path) -> None:
    from fleet_frontdoor.gateway import build_gateway

    (tmp_path / "fleet.toml").write_text(
        _manifest_text(free_port(), free_port(), {"a": free_port(), "b": free_port()})
    )
    manifest = load_manifest(tmp_path / "fleet.toml")
    with pytest.raises(ValueError, match="the gateway secret of 'b'"):
        build_gateway(manifest, secret={"a": "secret-of-a-0123456789"})
    gateway = build_gateway(manifest, secret={"a": "secret-of-a-0123456789", "b": "secret-of-b-0123456789"})
    assert gateway.routes["a"].secret == (b"x-mcp-gateway-secret", b"secret-of-a-0123456789")
    assert gateway.routes["b"].secret == (b"x-mcp-gateway-secret", b"secret-of-b-0123456789")


async def test_gateway_secret_only_topology_maps_authgate_subjects_through_the_user_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`upstream_auth_mode = "strip"`: the servers trust the X-MCP-* headers on their own gateway secret,
    can't see `extra_uid`, and map the dev users' UUID subjects (and `client:<id>`) with the user map, as
    `fleet dev` configures them; verify passes, and a user's token shows the username as account."""
    monkeypatch.setenv("FLEET_VERIFY_BOT_SECRET", "verify-bot-secret-0123456789")
    lines: list[str] = []
    async with _door_with(tmp_path, broken=False, strip=True) as origin:
        manifest = load_manifest(tmp_path / "fleet.toml")
        assert manifest.gateway.upstream_auth_mode == "strip"

        def run() -> tuple[bool, dict[str, Any]]:
            with httpx2.Client(timeout=15, trust_env=False) as http:
                servers = list(manifest.enabled_servers)
                secret = "verify-bot-secret-0123456789"
                ok = Verifier(origin, servers, "verify-bot", secret, http, lines.append).run()
                token = http.post(
                    f"{_issuer_of(http, origin)}/dev/token", json={"user": "alice", "scope": "echo:read"}
                )
                body = {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "tools/call",
                    "params": {"name": "whoami", "arguments": {}},
                }
                headers = {
                    "Authorization": f"Bearer {token.json()['access_token']}",
                    "Accept": "application/json, text/event-stream",
                    "MCP-Protocol-Version": "2025-11-25",
                }
                who = http.post(f"{origin}/mcp/echo", json=body, headers=headers).json()
                return ok, who["result"]["structuredContent"]

        with anyio.fail_after(60):
            ok, who = await anyio.to_thread.run_sync(run)
    assert ok, "\n".join(lines)
    assert (
        "ok   echo: client-credentials token → whoami (subject client:verify-bot, account verify-bot)"
        in lines
    )
    assert (who["subject"], who["account"]) == (dev_subject("alice"), "alice")


def _issuer_of(http: httpx2.Client, origin: str) -> str:
    prm = http.get(f"{origin}/.well-known/oauth-protected-resource/mcp/echo").json()
    return str(prm["authorization_servers"][0])
