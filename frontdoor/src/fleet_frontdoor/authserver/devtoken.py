"""Dev-only shortcut behind `fleet dev token --user alice --scope "db:read"`.

`POST /dev/token` with JSON `{"user": "alice", "scope": "db:read"}` → `{"access_token": ..., ...}`.
Mounted only with `dev_token_endpoint=True`; answers only loopback peers, and refuses anything a
browser could send cross-site (an `Origin` header, or a non-JSON body that skips CORS preflight):
otherwise any web page could mint tokens on a developer's machine.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fleet_core import is_loopback
from fleet_frontdoor.authserver.context import NO_STORE, Context
from fleet_frontdoor.authserver.tokens import user_grant

DEV_CLIENT_ID = "fleet-dev-token"


class DevTokenError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def issue_dev_token(ctx: Context, user: str, scope: str) -> dict[str, Any]:
    """Mint an access token for `user` with `scope`, audience = the server the scopes name."""
    holder = ctx.manifest.user(user)
    if holder is None:
        known = ", ".join(u.name for u in ctx.manifest.dev.users) or "none"
        raise DevTokenError(404, f"no dev user {user!r} in the manifest (dev users: {known})")
    scopes = scope.split()
    servers = {s.split(":", 1)[0] for s in scopes}
    if not scopes or len(servers) != 1:
        raise DevTokenError(400, "scope must name one server, e.g. 'db:read' or 'db:read db:write'")
    name = servers.pop()
    server = next((s for s in ctx.manifest.enabled_servers if s.name == name), None)
    if server is None:
        raise DevTokenError(400, f"no enabled server {name!r} in the manifest")
    unknown = [s for s in scopes if s not in server.scopes]
    if unknown:
        raise DevTokenError(400, f"{server.name} offers no scope {' '.join(unknown)}")
    missing = [s for s in scopes if s not in holder.scopes]
    if missing:
        raise DevTokenError(403, f"{user} does not hold {' '.join(missing)}")
    granted = " ".join(s for s in server.scopes if s in scopes)
    family = ctx.tokens.new_family(lifetime=ctx.tokens.access_ttl)
    token = ctx.tokens.mint_access(user_grant(user, DEV_CLIENT_ID, granted, server.resource, family))
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ctx.tokens.access_ttl,
        "scope": granted,
        "resource": server.resource,
    }


async def dev_token(ctx: Context, request: Request) -> Response:
    peer = request.client.host if request.client else None
    if not is_loopback(peer):
        return _error(403, "the dev token endpoint answers loopback clients only")
    if "origin" in request.headers or "sec-fetch-site" in request.headers:
        return _error(403, "not for browsers")
    # DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 reaches us from a
    # loopback peer with `Host: evil.example`. Only a loopback Host is ours (finding 12.6).
    if not is_loopback(urlsplit("//" + request.headers.get("host", "")).hostname):
        return _error(403, "the dev token endpoint answers requests to a loopback host name only")
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return _error(415, "send application/json")
    try:
        body = json.loads(await request.body())
        user, scope = body["user"], body["scope"]
        if not isinstance(user, str) or not isinstance(scope, str):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return _error(400, 'body must be {"user": "...", "scope": "..."}')
    try:
        return JSONResponse(issue_dev_token(ctx, user, scope), headers=NO_STORE)
    except DevTokenError as exc:
        return _error(exc.status, str(exc))


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": "dev_token_refused", "error_description": message}, status, headers=NO_STORE
    )
