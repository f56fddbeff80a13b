"""OAuth for one MCP resource, on the SDK's `OAuthClientProvider`.

The SDK already does: PRM discovery in the C1 order, AS metadata discovery (C3) with the exact
`issuer` check, PKCE S256 (C5), `resource=` on authorize/token (C6), scope selection (C7) and the
SEP-2350 union on step-up (C13), `state` and RFC 9207 `iss` checks (C8), CIMD before DCR (C9),
refresh, and SEP-2352 binding of *registrations* to the issuer.

This subclass fills the gaps:
- the PRM `resource` must equal the URL connected to (C2; the SDK also accepts a parent URL);
- no authorization request unless the AS metadata advertises PKCE S256 (C4);
- the bearer goes only to URLs under this resource (C12);
- tokens are stored per issuer *and* resource, and on start-up the current PRM is looked up
  before a stored token is used, so a token from a previous authorization server is never sent
  (SEP-2352); the stored expiry and metadata are restored so a restart refreshes, not re-logs;
- every fetch goes through the SSRF guard (C14, `urlguard.GuardedTransport`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2
from mcp.client.auth import OAuthClientProvider, OAuthFlowError
from mcp.client.auth.utils import (
    build_oauth_authorization_server_metadata_discovery_urls,
    build_protected_resource_metadata_discovery_urls,
    create_oauth_metadata_request,
    extract_field_from_www_auth,
    extract_scope_from_www_auth,
    validate_metadata_issuer,
)
from mcp.shared.auth import OAuthMetadata, ProtectedResourceMetadata
from pydantic import ValidationError

from .errors import DeviceSignInNeeded, LoginError
from .storage import FileTokenStorage

__all__ = ["Discovery", "FleetOAuthProvider", "acceptable_prm_resource", "discover", "same_resource"]


def _canonical(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def same_resource(a: str, b: str) -> bool:
    """RFC 9728 §3.3: the PRM `resource` must be the resource identifier the client used
    (compared after lower-casing scheme/host and ignoring one trailing slash)."""
    return _canonical(a) == _canonical(b)


def acceptable_prm_resource(prm_resource: str, server_url: str) -> bool:
    """C2 / RFC 9728 §3.3: the PRM names exactly the URL connected to — or, for metadata served at
    the root well-known URI, the origin it was inserted into. Any other value (another host, a
    sibling, a parent path such as the gateway's /mcp) is refused."""
    parts = urlsplit(server_url)
    return same_resource(prm_resource, server_url) or _canonical(prm_resource) == _canonical(
        f"{parts.scheme}://{parts.netloc}"
    )


def _insufficient_scope(response: httpx2.Response) -> bool:
    return (
        response.status_code == 403 and extract_field_from_www_auth(response, "error") == "insufficient_scope"
    )


def within_resource(url: str, resource: str) -> bool:
    target, base = _canonical(url), _canonical(resource)
    return target == base or target.startswith(base + "/")


@dataclass(frozen=True)
class Discovery:
    prm: ProtectedResourceMetadata | None
    issuer: str
    metadata: OAuthMetadata | None
    raw_metadata: dict[str, Any]


async def discover(http: httpx2.AsyncClient, server_url: str, www_auth_url: str | None = None) -> Discovery:
    """PRM then AS metadata with the same URL orders and checks as the SDK flow; used before a
    stored token is sent, and by the device flow (the SDK has no hook for it)."""
    prm = None
    for url in build_protected_resource_metadata_discovery_urls(www_auth_url, server_url):
        response = await http.send(create_oauth_metadata_request(url))
        if response.status_code == 200:
            try:
                prm = ProtectedResourceMetadata.model_validate_json(response.content)
            except ValidationError:
                continue
            if not acceptable_prm_resource(str(prm.resource), server_url):
                raise LoginError(
                    f"protected resource metadata names resource {prm.resource}, not {server_url}: refusing"
                )
            break
    parts = urlsplit(server_url)
    issuer = str(prm.authorization_servers[0]) if prm else f"{parts.scheme}://{parts.netloc}"
    metadata, raw = None, {}
    for url in build_oauth_authorization_server_metadata_discovery_urls(issuer if prm else None, server_url):
        response = await http.send(create_oauth_metadata_request(url))
        if response.status_code == 200:
            try:
                raw = response.json()
                metadata = OAuthMetadata.model_validate(raw)
            except (ValueError, ValidationError) as exc:
                raise LoginError(f"authorization server metadata at {url} is invalid: {exc}") from exc
            try:
                validate_metadata_issuer(metadata, issuer)
            except OAuthFlowError as exc:
                raise LoginError(str(exc)) from exc
            break
        if response.status_code >= 500:
            break
    return Discovery(prm=prm, issuer=issuer, metadata=metadata, raw_metadata=raw)


class FleetOAuthProvider(OAuthClientProvider):
    """`OAuthClientProvider` with the checks listed in the module docstring."""

    def __init__(
        self,
        *,
        storage: FileTokenStorage,
        discovery_http: httpx2.AsyncClient,
        notice: Callable[[str], None] | None = None,
        **kwargs: Any,
    ):
        super().__init__(storage=storage, validate_resource_url=self._check_prm_resource, **kwargs)
        self.file_storage = storage
        self._discovery_http = discovery_http
        self._notice = notice or (lambda _: None)
        self._reason: str | None = None  # why the next authorization runs, said before it starts
        self.resource = self.context.server_url
        # RFC 8707: always ask for a token for exactly this server, even when the PRM names only the
        # origin — an audience of the whole gateway would be accepted by every server behind it (C12).
        # The SDK's OAuthContext has no setting for this, so its method is replaced on the instance.
        self.context.get_resource_url = lambda: self.resource  # type: ignore[method-assign]

    async def _check_prm_resource(self, server_url: str, prm_resource: str | None) -> None:
        if prm_resource is None or not acceptable_prm_resource(prm_resource, server_url):
            raise LoginError(
                f"protected resource metadata names resource {prm_resource}, "
                f"not {server_url}: refusing to log in"
            )

    async def _initialize(self) -> None:
        storage = self.file_storage
        if storage.issuer is None and storage.has_any_grant():
            # SEP-2352: which AS protects this resource *now*? Only its tokens may be used.
            found = await discover(self._discovery_http, self.context.server_url)
            storage.bind_issuer(found.issuer)
            self.context.protected_resource_metadata = found.prm
            self.context.auth_server_url = found.issuer if found.prm else None
            self.context.oauth_metadata = found.metadata
        await super()._initialize()
        if self.context.current_tokens is not None:
            # The SDK forgets the expiry across restarts; without it an expired token is sent
            # (401, full re-login) instead of being refreshed first.
            expires_at = storage.expires_at()
            # (0 would read as "no expiry" to the SDK)
            self.context.token_expiry_time = None if expires_at is None else max(expires_at, 1.0)

    def _expected_issuer(self) -> str:
        issuer = super()._expected_issuer()
        if self.file_storage.issuer != issuer:
            self.file_storage.bind_issuer(issuer)
            # Tokens read for another issuer must not survive into this one (SEP-2352).
            self.context.clear_tokens()
        return issuer

    async def _auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        """The SDK flow, watched: it steps up once per request (C13, no loop); if the retry is still
        refused for scope, say so plainly instead of a bare 403."""
        flow = super()._auth_flow(request)
        stepped_up = False
        try:
            outgoing = await flow.__anext__()
            while True:
                response = yield outgoing
                if outgoing is request and response.status_code == 401:
                    self._reason = f"{self.resource}: no valid sign-in stored (or it has expired); signing in"
                if outgoing is request and _insufficient_scope(response):
                    granted = self.context.current_tokens.scope if self.context.current_tokens else None
                    self._reason = (
                        f"{self.resource} requires scope '{extract_scope_from_www_auth(response)}' for this "
                        f"call; your sign-in holds '{granted}': signing in again to add it"
                    )
                    if stepped_up:
                        granted = self.context.current_tokens.scope if self.context.current_tokens else None
                        raise LoginError(
                            f"still refused after signing in again: {self.resource} requires scope "
                            f"'{extract_scope_from_www_auth(response)}', the authorization server granted "
                            f"'{granted}' — your account may not hold that scope"
                        )
                    stepped_up = True
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return
        finally:
            await flow.aclose()

    def _add_auth_header(self, request: httpx2.Request) -> None:
        if within_resource(str(request.url), self.resource):  # C12: never to another resource
            super()._add_auth_header(request)

    async def _perform_authorization(self) -> httpx2.Request:
        """Say why a sign-in starts; a grant made by the device flow is renewed by the device flow
        (a machine without a browser can't finish the browser flow): the caller runs it."""
        if self._reason:
            self._notice(self._reason)
        if self.file_storage.grant_flow() == "device":
            raise DeviceSignInNeeded(self.resource, self.context.client_metadata.scope, self._reason or "")
        return await super()._perform_authorization()

    async def _perform_authorization_code_grant(self) -> tuple[str, str]:
        metadata = self.context.oauth_metadata
        if metadata is None or "S256" not in (metadata.code_challenge_methods_supported or []):
            # C4 / MCP "Authorization Code Protection": no PKCE S256 advertised -> refuse.
            raise LoginError(
                "the authorization server does not advertise PKCE S256 (code_challenge_methods_supported) "
                "or published no usable metadata: refusing to start the authorization code flow"
            )
        return await super()._perform_authorization_code_grant()
