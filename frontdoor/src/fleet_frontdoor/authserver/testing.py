"""Test helpers: run the dev authorization server on a free loopback port.

async with serve_auth_server(manifest, state_dir=tmp_path) as (issuer_url, app, manifest2):
    ...   # manifest2 = manifest with issuer.url rewritten to the real port

manifest_with_issuer(manifest, url) -> Manifest
sample_manifest() -> Manifest;  pkce_pair() -> (verifier, challenge)
async with asgi_client(app, peer="127.0.0.1") as http: ...   # in-process, no socket
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
import socket
import tempfile
import time
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
from starlette.applications import Starlette

from fleet_core import bind_loopback, running_app
from fleet_frontdoor.authserver.app import build_auth_server
from fleet_frontdoor.authserver.keys import KeyRing
from fleet_frontdoor.authserver.store import Store
from fleet_frontdoor.manifest import Manifest

_SEEDED: list[bytes] = []


class Clock:
    """A clock the test moves (`clock.now += 301`), for build_auth_server(clock=...)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def seeded(state_dir: Path) -> Path:
    """`state_dir` pre-seeded with a signing key, so tests skip RSA key generation (the slow part).
    Every seeded dir shares that one test key; use a plain dir when a test needs its own."""
    if not _SEEDED:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp))
            KeyRing(store)
            store.close()
            _SEEDED.append((Path(tmp) / "authserver.sqlite3").read_bytes())
    state_dir.mkdir(parents=True, exist_ok=True)
    target = state_dir / "authserver.sqlite3"
    if not target.exists():
        target.write_bytes(_SEEDED[0])
        target.chmod(0o600)
    return state_dir


def manifest_with_issuer(manifest: Manifest, url: str) -> Manifest:
    data = manifest.model_dump()
    data["issuer"]["url"] = url
    return Manifest.model_validate(data)


def serve_on(app: Any, sock: socket.socket) -> contextlib.AbstractAsyncContextManager[str]:
    """uvicorn serving `app` on `sock` for the duration; yields the base URL."""
    return running_app(app, sock=sock)


@contextlib.asynccontextmanager
async def serve_auth_server(
    manifest: Manifest, *, state_dir: Path, **build_kwargs: Any
) -> AsyncIterator[tuple[str, Starlette, Manifest]]:
    """The issuer URL must name the real port, so the socket is bound before the app is built."""
    sock = bind_loopback()
    served = manifest_with_issuer(manifest, f"http://127.0.0.1:{sock.getsockname()[1]}")
    app = build_auth_server(served, state_dir=state_dir, **build_kwargs)
    async with serve_on(app, sock) as issuer:
        yield issuer, app, served


SAMPLE_TOML = """
[gateway]
origin = "http://127.0.0.1:8700"

[issuer]
url = "http://127.0.0.1:8701"
access_token_ttl_seconds = 300

[[servers]]
name = "db"
upstream = "http://127.0.0.1:8710"
scopes = ["db:read", "db:write"]

[[servers]]
name = "gitea"
upstream = "http://127.0.0.1:8711"
scopes = ["gitea:read", "gitea:write"]

[[servers]]
name = "off"
upstream = "http://127.0.0.1:8719"
scopes = ["off:read"]
enabled = false

[[dev.users]]
name = "alice"
teams = ["platform"]
scopes = ["db:read", "db:write", "gitea:read", "gitea:write"]

[[dev.users]]
name = "bob"
teams = ["payments"]
scopes = ["db:read"]

[[dev.users]]
name = "carol"
scopes = ["db:read"]
password = "carol-dev-pw"

[[clients]]
client_id = "fleet-client"
name = "fleet sample client"
redirect_uris = ["http://127.0.0.1/callback"]
grant_types = ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]

[[clients]]
client_id = "web-app"
redirect_uris = ["https://app.example.com/cb"]
grant_types = ["authorization_code"]

[[clients]]
client_id = "ci-bot"
type = "confidential"
secret_env = "FLEET_TEST_CI_BOT_SECRET"
grant_types = ["client_credentials"]
scopes = ["db:read", "gitea:read"]
"""


def sample_manifest(toml_text: str = SAMPLE_TOML) -> Manifest:
    """A small manifest (db, gitea, a disabled server; alice/bob/carol; three clients) for tests."""
    return Manifest.model_validate(tomllib.loads(toml_text))


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636 §4.1-4.2."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@contextlib.asynccontextmanager
async def asgi_client(app: Starlette, *, peer: str = "127.0.0.1") -> AsyncIterator[httpx2.AsyncClient]:
    """An in-process HTTP client for the app (no lifespan; closes the app's resources on exit)."""
    issuer = app.state.ctx.issuer
    transport = httpx2.ASGITransport(app=app, client=(peer, 50123))
    try:
        async with httpx2.AsyncClient(transport=transport, base_url=issuer, follow_redirects=False) as client:
            yield client
    finally:
        await app.state.ctx.cimd.aclose()
        app.state.ctx.store.close()
