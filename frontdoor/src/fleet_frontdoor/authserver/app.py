"""The dev authorization server as one Starlette app, and its runner.

    build_auth_server(manifest, *, state_dir, allow_loopback_cimd=False, dev_token_endpoint=False,
                      clock=time.time, cimd_timeout=5.0) -> Starlette
    run_auth_server(manifest, *, state_dir, host=None, port=None, ...) -> None   (blocking, uvicorn)
    mint_dev_token(manifest, *, state_dir, user, scope) -> str   (no HTTP; same keys/state)
    default_state_dir(manifest_path) -> Path    ($FLEET_STATE_DIR/authserver or <repo>/.fleet/authserver)

`app.state.ctx` is the Context (keys, tokens, store) for tests and tooling, e.g. key rotation:
`app.state.ctx.keys.rotate()`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from fleet_core import die_with_parent, is_loopback
from fleet_frontdoor.authserver import authorize, device, devtoken, endpoints, grants
from fleet_frontdoor.authserver.cimd import CimdFetcher
from fleet_frontdoor.authserver.context import Context
from fleet_frontdoor.authserver.keys import KeyRing
from fleet_frontdoor.authserver.store import Store
from fleet_frontdoor.authserver.tokens import TokenService
from fleet_frontdoor.manifest import Manifest, find_manifest, load_manifest

Handler = Callable[[Context, Request], Awaitable[Response]]


def make_context(
    manifest: Manifest,
    *,
    state_dir: Path,
    allow_loopback_cimd: bool = False,
    clock: Callable[[], float] = time.time,
    cimd_timeout: float = 5.0,
) -> Context:
    issuer = urlsplit(manifest.issuer.url)
    if issuer.scheme != "https" and not is_loopback(issuer.hostname):
        # checklist A16: OAuth endpoints only over TLS, plain http only on this machine
        raise ValueError(f"issuer {manifest.issuer.url} must be https (http is allowed on loopback only)")
    store = Store(state_dir)
    keys = KeyRing(store)
    tokens = TokenService(
        issuer=manifest.issuer.url,
        keys=keys,
        store=store,
        access_ttl=manifest.issuer.access_token_ttl_seconds,
        refresh_ttl=manifest.issuer.refresh_token_ttl_seconds,
        clock=clock,
    )
    store.purge(clock())
    return Context(
        manifest=manifest,
        store=store,
        keys=keys,
        tokens=tokens,
        cimd=CimdFetcher(allow_loopback=allow_loopback_cimd, clock=clock, timeout=cimd_timeout),
        clock=clock,
        secure_cookies=issuer.scheme == "https",
    )


def build_auth_server(
    manifest: Manifest,
    *,
    state_dir: Path,
    allow_loopback_cimd: bool = False,
    dev_token_endpoint: bool = False,
    clock: Callable[[], float] = time.time,
    cimd_timeout: float = 5.0,
) -> Starlette:
    """The ASGI app of the dev authorization server. State (keys, sessions, grants) lives in
    `<state_dir>/authserver.sqlite3`, so a restart on the same dir keeps everyone signed in."""
    ctx = make_context(
        manifest,
        state_dir=state_dir,
        allow_loopback_cimd=allow_loopback_cimd,
        clock=clock,
        cimd_timeout=cimd_timeout,
    )

    def bind(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(ctx, request)
            finally:
                await request.close()  # a multipart body's upload files are closed, not left to the GC

        return endpoint

    routes = [
        Route("/.well-known/oauth-authorization-server", bind(endpoints.discovery), methods=["GET"]),
        Route("/.well-known/openid-configuration", bind(endpoints.discovery), methods=["GET"]),
        Route("/.well-known/jwks.json", bind(endpoints.jwks), methods=["GET"]),
        Route("/oauth/authorize", bind(authorize.authorize), methods=["GET"]),
        Route("/oauth/login", bind(authorize.login), methods=["POST"]),
        Route("/oauth/consent", bind(authorize.consent), methods=["POST"]),
        Route("/oauth/token", bind(grants.token), methods=["POST"]),
        Route("/oauth/device/code", bind(device.device_code), methods=["POST"]),
        Route("/device", bind(device.device_page), methods=["GET"]),
        Route("/device", bind(device.device_submit), methods=["POST"]),
        Route("/device/confirm", bind(device.device_confirm), methods=["POST"]),
        Route("/oauth/revoke", bind(endpoints.revoke), methods=["POST"]),
        Route("/oauth/introspect", bind(endpoints.introspect), methods=["POST"]),
        Route("/oauth/userinfo", bind(endpoints.userinfo), methods=["GET", "POST"]),
        Route("/healthz", _healthz, methods=["GET"]),
    ]
    if dev_token_endpoint:
        routes.append(Route("/dev/token", bind(devtoken.dev_token), methods=["POST"]))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await ctx.cimd.aclose()
            ctx.store.close()

    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(PublicCors)])
    app.state.ctx = ctx
    return app


CORS_PATHS = frozenset(
    {
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
        "/.well-known/jwks.json",
        "/oauth/token",
        "/oauth/revoke",
        "/oauth/device/code",
        "/oauth/userinfo",
    }
)


class PublicCors:
    """Browser-based MCP clients (e.g. MCP Inspector) fetch() metadata and tokens: any origin may,
    without cookies. The HTML pages and /dev/token get no CORS at all."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "MCP-Protocol-Version"],
            expose_headers=["WWW-Authenticate"],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in CORS_PATHS:
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def _healthz(request: Request) -> Response:
    return Response('{"ok":true}', media_type="application/json")


def mint_dev_token(manifest: Manifest, *, state_dir: Path, user: str, scope: str) -> str:
    """An access token for `user` with `scope` (one server's scopes), signed with the AS's keys in
    `state_dir`. Raises devtoken.DevTokenError (with .status) when the user/scope is not allowed."""
    ctx = make_context(manifest, state_dir=state_dir)
    try:
        return str(devtoken.issue_dev_token(ctx, user, scope)["access_token"])
    finally:
        ctx.store.close()


def default_state_dir(manifest_path: Path) -> Path:
    base = os.environ.get("FLEET_STATE_DIR")
    return (Path(base) if base else manifest_path.resolve().parent / ".fleet") / "authserver"


def run_auth_server(
    manifest: Manifest,
    *,
    state_dir: Path,
    host: str | None = None,
    port: int | None = None,
    allow_loopback_cimd: bool = False,
    dev_token_endpoint: bool = True,
    log_level: str = "warning",
) -> None:
    """Serve on the issuer's host and port (blocking)."""
    import uvicorn

    from fleet_core.http import BoundedHttpToolsProtocol

    die_with_parent()

    issuer = urlsplit(manifest.issuer.url)
    app = build_auth_server(
        manifest,
        state_dir=state_dir,
        allow_loopback_cimd=allow_loopback_cimd,
        dev_token_endpoint=dev_token_endpoint,
    )
    uvicorn.run(
        app,
        host=host or issuer.hostname or "127.0.0.1",
        port=port or issuer.port or (443 if issuer.scheme == "https" else 80),
        log_level=log_level,
        proxy_headers=False,  # request.client must be the real peer (the dev token endpoint checks it)
        http=BoundedHttpToolsProtocol,  # a cap on the request head
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="fleet-authserver", description="mcp-fleet dev authorization server"
    )
    parser.add_argument("--manifest", type=Path, default=None)
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument(
        "--allow-loopback-cimd", action="store_true", help="dev only: fetch CIMD from loopback"
    )
    parser.add_argument("--no-dev-token", action="store_true", help="disable POST /dev/token")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument(
        "--rotate-key", action="store_true", help="add a new signing key (old one stays published)"
    )
    keys.add_argument("--retire-old-keys", action="store_true", help="publish only the current signing key")
    args = parser.parse_args(argv)
    path = args.manifest or find_manifest()
    manifest = load_manifest(path)
    state_dir = args.state_dir or default_state_dir(path)
    if args.rotate_key or args.retire_old_keys:
        ctx = make_context(manifest, state_dir=state_dir)
        try:
            if args.rotate_key:
                print(f"new signing key {ctx.keys.rotate()} (a running server signs with it from now on)")
            else:
                ctx.keys.retire_old()
                print("only the current signing key is published now")
        finally:
            ctx.store.close()
        return
    run_auth_server(
        manifest,
        state_dir=state_dir,
        allow_loopback_cimd=args.allow_loopback_cimd,
        dev_token_endpoint=not args.no_dev_token,
    )
