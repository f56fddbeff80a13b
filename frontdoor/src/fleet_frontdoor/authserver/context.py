"""What every endpoint shares: the manifest, store, keys, token service, CIMD fetcher, clock,
plus the OAuth error type and the RFC 8707 resource / scope rules."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse

from fleet_frontdoor.authserver.cimd import CimdFetcher
from fleet_frontdoor.authserver.keys import KeyRing
from fleet_frontdoor.authserver.store import Store
from fleet_frontdoor.authserver.tokens import TokenService
from fleet_frontdoor.manifest import Manifest, ServerEntry

# OIDC scopes a generic client may add; they carry no fleet permission and are dropped.
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: rendered as JSON by the token-style endpoints, or sent back to the
    client's redirect URI by /oauth/authorize."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> JSONResponse:
        headers = dict(NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="fleet"'
        body = {"error": self.error, "error_description": self.description}
        return JSONResponse(body, self.status, headers=headers)


@dataclass
class Context:
    manifest: Manifest
    store: Store
    keys: KeyRing
    tokens: TokenService
    cimd: CimdFetcher
    clock: Callable[[], float]
    secure_cookies: bool
    # peer address → times of its recent wrong device user codes (RFC 8628 §5.1: rate-limit guessing)
    device_failures: dict[str, list[float]] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return self.manifest.issuer.url

    def check_resource(self, values: Sequence[object]) -> ServerEntry:
        """RFC 8707 §2: `resource` must be an absolute URI without a fragment; we also require it to
        be one of the manifest's resources byte for byte (an empty allow-list denies all)."""
        if len(values) != 1:
            raise OAuthError("invalid_target", "exactly one resource parameter is required")
        value = values[0]
        if not isinstance(value, str):  # a multipart file field (finding 12.8)
            raise OAuthError("invalid_target", "resource must be text")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or "#" in value:
            raise OAuthError("invalid_target", "resource must be an absolute http(s) URI without a fragment")
        server = self.manifest.server_for_resource(value)
        if server is None:
            raise OAuthError("invalid_target", "resource is not served by this fleet")
        return server


def requested_scopes(scope: str | None, server: ServerEntry) -> tuple[str, ...]:
    """The fleet scopes asked for; none asked = all of the server's. Foreign scopes are refused so a
    token for one server never carries another server's permissions."""
    asked = [s for s in (scope or "").split() if s not in OIDC_SCOPES]
    if not asked:
        return server.scopes
    foreign = sorted(set(asked) - set(server.scopes))
    if foreign:
        raise OAuthError("invalid_scope", f"scopes not offered by {server.name}: {' '.join(foreign)}")
    return tuple(s for s in server.scopes if s in asked)


def grantable(asked: Iterable[str], holder: Iterable[str]) -> str:
    """Space-joined subset of `asked` that the user/client actually holds (RFC 6749 §3.3 may narrow)."""
    held = set(holder)
    return " ".join(s for s in asked if s in held)


async def url_encoded_form(request: Request) -> FormData:
    """The body of a token or device authorization request: RFC 6749 §3.2 and RFC 8628 §3.1 use
    application/x-www-form-urlencoded only (a multipart body could carry files, never text)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "use application/x-www-form-urlencoded")
    return await request.form()


def single(params: QueryParams | FormData, name: str) -> str | None:
    """RFC 6749 §3.1: a parameter sent more than once is an invalid request."""
    values = params.getlist(name)
    if len(values) > 1:
        raise OAuthError("invalid_request", f"parameter {name} repeated")
    value = values[0] if values else None
    if value is not None and not isinstance(value, str):
        raise OAuthError("invalid_request", f"parameter {name} must be text")
    return value or None


def digest(secret: str) -> str:
    """Codes and device codes are stored hashed: a leaked database does not leak live grants."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)
