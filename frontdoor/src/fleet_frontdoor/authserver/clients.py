"""OAuth clients: pre-registered ones from the manifest, or Client ID Metadata Documents.
Redirect-URI matching and token-endpoint client authentication live here too."""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request

from fleet_frontdoor.authserver.cimd import CimdError, is_cimd_client_id
from fleet_frontdoor.authserver.context import Context, OAuthError, single
from fleet_frontdoor.manifest import ClientEntry, redirect_uri_problem

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    public: bool
    is_cimd: bool
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...] = ()
    entry: ClientEntry | None = None

    def redirect_allowed(self, uri: str) -> bool:
        """OAuth 2.1 §2.3.1 / MCP "Open Redirection": exact string match. The one exception is
        RFC 8252 §7.3: a pre-registered loopback IP redirect may use any port."""
        if redirect_uri_problem(uri):  # before any parsing: urlsplit forgives TAB/CR/LF and `HTTP://`
            return False
        if uri in self.redirect_uris:
            return True
        if self.is_cimd:
            return False
        given = urlsplit(uri)
        if given.scheme != "http" or given.hostname not in ("127.0.0.1", "::1") or "@" in given.netloc:
            return False
        host = "[::1]" if given.hostname == "::1" else given.hostname
        try:
            given.port  # noqa: B018 - rejects junk ports
        except ValueError:
            return False
        portless = given._replace(netloc=host).geturl()
        return portless in self.redirect_uris and "#" not in uri


async def resolve_client(ctx: Context, client_id: str) -> Client:
    entry = ctx.manifest.client(client_id)
    if entry is not None:
        return Client(
            client_id=entry.client_id,
            name=entry.name,
            public=entry.type == "public",
            is_cimd=False,
            redirect_uris=entry.redirect_uris,
            grant_types=entry.grant_types,
            scopes=entry.scopes,
            entry=entry,
        )
    if is_cimd_client_id(client_id) and ctx.manifest.issuer.cimd_enabled:
        try:
            meta = await ctx.cimd.get(client_id)
        except CimdError as exc:
            raise OAuthError(exc.error, exc.description) from None
        return Client(
            client_id=meta.client_id,
            name=meta.client_name,
            public=True,
            is_cimd=True,
            redirect_uris=meta.redirect_uris,
            grant_types=meta.grant_types,
        )
    raise OAuthError("invalid_client", "unknown client_id")


async def authenticate_client(ctx: Context, request: Request, form: FormData) -> Client:
    """RFC 6749 §2.3: confidential clients prove their secret (Basic or post); public clients only
    name themselves. Errors are `invalid_client` with HTTP 401."""
    basic = _basic_credentials(request)
    body_id = single(form, "client_id")
    body_secret = single(form, "client_secret")
    if basic and (body_secret or (body_id and body_id != basic[0])):
        raise OAuthError("invalid_request", "use one client authentication method")
    client_id, secret = basic if basic else (body_id, body_secret)
    if not client_id:
        raise OAuthError("invalid_client", "client authentication required", 401)
    try:
        client = await resolve_client(ctx, client_id)
    except OAuthError as exc:
        raise OAuthError("invalid_client", exc.description, 401) from None
    if client.public:
        if secret:
            raise OAuthError("invalid_client", "a public client has no secret", 401)
        return client
    expected = client.entry.secret() if client.entry else None
    if not expected or not secret or not secrets.compare_digest(secret.encode(), expected.encode()):
        raise OAuthError("invalid_client", "client authentication failed", 401)
    return client


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError("invalid_client", "unsupported client authentication", 401)
    try:
        user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "malformed Basic credentials", 401) from None
    if not sep:
        raise OAuthError("invalid_client", "malformed Basic credentials", 401)
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding
    return unquote(user.replace("+", " ")), unquote(password.replace("+", " "))
