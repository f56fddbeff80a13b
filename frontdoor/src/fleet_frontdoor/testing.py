"""The whole front door on loopback for end-to-end tests: dev authorization server + dev gateway,
with each server's upstream socket bound in advance so its settings can name the real URLs.

    async with front_door(tmp_path, ["db"]) as fd:
        settings = DbSettings(**fd.server_settings("db"), database_url=...)
        async with fd.upstream("db", build_app(build_server(settings, db), settings)):
            token = await fd.token("alice", "db:read")
            async with fd.connect("db", token) as client:   # the SDK's client, through the gateway
                ...
"""

from __future__ import annotations

import contextlib
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Sequence
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

__all__ = ["FrontDoor", "front_door"]


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
