"""`FleetClient`: connect to a fleet server with the right OAuth provider and storage.

fleet = FleetClient(load_config())
async with fleet.connect("db") as client:        # an mcp.Client, logged in on demand
    result = await client.call_tool("list_tables", {})
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TextIO

import httpx2
from mcp import Client
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.auth.utils import extract_scope_from_www_auth
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata
from mcp_types import Implementation

from . import __version__
from .auth import FleetOAuthProvider, _insufficient_scope, discover, same_resource, within_resource
from .callback import LoopbackReceiver, make_handlers, open_in_browser
from .config import ClientConfig, ServerEntry, config_home
from .device import DEVICE_CODE_GRANT, DeviceCode, device_authorization
from .errors import FleetClientError, LoginError
from .storage import FileTokenStorage, forget
from .urlguard import GuardedTransport

__all__ = ["FleetClient"]

Opener = Callable[[str], Awaitable[None] | None]
GRANT_TYPES = ["authorization_code", "refresh_token"]


class _CCProvider(ClientCredentialsOAuthProvider):
    """The SDK's client-credentials provider with the same resource checks as FleetOAuthProvider."""

    def __init__(self, *args: Any, resource: str, where: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._resource = resource
        self._client_id = str(kwargs.get("client_id", ""))
        self._where = where  # which config file and variable hold this client, for the messages

    async def _handle_token_response(self, response: httpx2.Response) -> None:
        failed = response.status_code >= 400
        if failed and (response.status_code == 401 or b"invalid_client" in await response.aread()):
            raise LoginError(
                f"the authorization server refused client '{self._client_id}' (invalid_client, HTTP "
                f"{response.status_code}): the client_id or its secret is wrong, or the server has no "
                f"secret for it. The client side is {self._where}; under `fleet dev` the server side is "
                "the client's secret_env in fleet.toml (for ci-bot: FLEET_CI_BOT_SECRET), which must be "
                "set, to the same value, in the environment `fleet dev` was started from"
            )
        await super()._handle_token_response(response)

    def _add_auth_header(self, request: httpx2.Request) -> None:
        if within_resource(str(request.url), self._resource):
            super()._add_auth_header(request)

    async def _auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        """A client gets exactly the scopes registered for it, and it asked for all of the server's
        already: a step-up can't gain more. Say what was missing instead of retrying."""
        flow = super()._auth_flow(request)
        try:
            outgoing = await flow.__anext__()
            while True:
                response = yield outgoing
                if outgoing is request and _insufficient_scope(response):
                    tokens = self.context.current_tokens
                    raise LoginError(
                        f"{self._resource} requires scope '{extract_scope_from_www_auth(response)}', the "
                        f"authorization server granted '{tokens.scope if tokens else None}' to client "
                        f"'{self._client_id}' — a client credentials client gets only the scopes registered "
                        "for it (fleet dev: [[clients]] scopes in fleet.toml; AuthGate: its admin UI)"
                    )
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return
        finally:
            await flow.aclose()


class FleetClient:
    def __init__(
        self,
        config: ClientConfig,
        *,
        headless: bool = False,
        opener: Opener | None = None,
        out: TextIO | None = None,
        env: Mapping[str, str] | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
    ):
        self.config = config
        self.out = out or sys.stderr
        self.env = os.environ if env is None else env
        self._opener: Opener = opener or (lambda url: open_in_browser(url, headless=headless, out=self.out))
        self._inner_transport = transport

    # -- plumbing -------------------------------------------------------------------------

    def _transport(self) -> GuardedTransport:
        return GuardedTransport(self._inner_transport, allow_private=self.config.allow_private_networks)

    def storage(self, server: ServerEntry, *, redirect_uri: str | None = None) -> FileTokenStorage:
        return FileTokenStorage(
            self.config.state_dir, server.url, preregistered=self._preregistered(redirect_uri)
        )

    def _preregistered(self, redirect_uri: str | None) -> OAuthClientInformationFull | None:
        cfg = self.config
        if not cfg.client_id:
            return None
        return OAuthClientInformationFull(
            client_id=cfg.client_id,
            client_secret=cfg.client_secret,
            token_endpoint_auth_method=cfg.token_endpoint_auth_method,
            redirect_uris=[redirect_uri] if redirect_uri else None,
            grant_types=[*GRANT_TYPES, DEVICE_CODE_GRANT],
            # SEP-2352: a pre-registered client belongs to the configured AS only.
            issuer=cfg.issuer,
        )

    def _client_metadata(self, redirect_uri: str) -> OAuthClientMetadata:
        return OAuthClientMetadata(
            client_name=self.config.client_name,
            redirect_uris=[redirect_uri],
            grant_types=list(GRANT_TYPES),
            token_endpoint_auth_method="none",  # noqa: S106 - a method name
            application_type="native",  # SEP-837
        )

    def _mcp_client(self, url: str, http: httpx2.AsyncClient) -> Client:
        return Client(
            streamable_http_client(url, http_client=http),
            mode=self.config.protocol,
            client_info=Implementation(name="fleet-client", version=__version__),
        )

    @contextlib.asynccontextmanager
    async def connect(self, server: str, *, client_credentials: bool = False) -> AsyncIterator[Client]:
        """An `mcp.Client` for `server` (manifest name or URL); logs in on demand."""
        entry = self.config.server(server)
        if client_credentials:
            async with self._cc_http(entry) as http, self._mcp_client(entry.url, http) as client:
                yield client
            return
        async with self._oauth_http(entry) as http, self._mcp_client(entry.url, http) as client:
            yield client

    @contextlib.asynccontextmanager
    async def _oauth_http(self, entry: ServerEntry) -> AsyncIterator[httpx2.AsyncClient]:
        transport = self._transport()
        async with (
            LoopbackReceiver(self.config.effective_redirect_port) as receiver,
            httpx2.AsyncClient(transport=transport, timeout=30) as discovery_http,
        ):
            redirect_handler, callback_handler = make_handlers(receiver, self._opener)
            provider = FleetOAuthProvider(
                server_url=entry.url,
                client_metadata=self._client_metadata(receiver.redirect_uri),
                storage=self.storage(entry, redirect_uri=receiver.redirect_uri),
                redirect_handler=redirect_handler,
                callback_handler=callback_handler,
                client_metadata_url=self.config.client_metadata_url,
                discovery_http=discovery_http,
                notice=lambda message: print(message, file=self.out, flush=True),
            )
            timeout = httpx2.Timeout(30, read=300)
            async with httpx2.AsyncClient(auth=provider, transport=transport, timeout=timeout) as http:
                yield http

    @contextlib.asynccontextmanager
    async def _cc_http(self, entry: ServerEntry) -> AsyncIterator[httpx2.AsyncClient]:
        cc = self.config.client_credentials
        if cc is None:
            where = self.config.config_file or config_home() / "fleet-client" / "config.toml"
            raise LoginError(
                "client credentials are not configured: add a [client_credentials] section (client_id, "
                f"client_secret_env) to {where} — see client/README.md, 'Client credentials'"
            )
        transport = self._transport()
        async with httpx2.AsyncClient(transport=transport, timeout=30) as discovery_http:
            found = await discover(discovery_http, entry.url)
        issuer = self.config.issuer or found.issuer
        storage = FileTokenStorage(self.config.state_dir, entry.url, issuer=found.issuer)
        provider = _CCProvider(
            server_url=entry.url,
            storage=storage,
            client_id=cc.client_id,
            client_secret=cc.secret(self.env),
            token_endpoint_auth_method=cc.token_endpoint_auth_method,
            scope=" ".join(entry.scopes) or None,
            issuer=issuer,
            resource=entry.url,
            where=f"[client_credentials] in {self.config.config_file or 'the client config file'} "
            f"(client_id = {cc.client_id!r}) with the secret in ${cc.client_secret_env}",
        )
        async with httpx2.AsyncClient(auth=provider, transport=transport, timeout=30) as http:
            yield http

    # -- commands -------------------------------------------------------------------------

    async def login(self, server: str, *, force: bool = False, client_credentials: bool = False) -> None:
        """Make sure a usable token for `server` is stored (runs the browser flow if needed)."""
        entry = self.config.server(server)
        if force:
            forget(self.config.state_dir, entry.url)
        try:
            async with self.connect(server, client_credentials=client_credentials) as client:
                await client.list_tools()
        except BaseExceptionGroup as group:  # the transports wrap errors; surface ours as is
            ours = group.subgroup(lambda exc: isinstance(exc, FleetClientError))
            if ours is None:
                raise
            first: BaseException = ours
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            raise first from group

    async def device_login(
        self,
        server: str,
        *,
        scope: str | None = None,
        prompt: Callable[[DeviceCode], Awaitable[None] | None] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        entry = self.config.server(server)
        if not self.config.client_id:
            raise LoginError("the device flow needs a pre-registered client_id (FLEET_CLIENT_CLIENT_ID)")
        async with httpx2.AsyncClient(transport=self._transport(), timeout=30) as http:
            found = await discover(http, entry.url)
            if found.prm is None or found.metadata is None:
                raise LoginError(
                    f"{entry.url} published no protected resource / authorization server metadata"
                )
            if self.config.issuer and not same_resource(found.issuer, self.config.issuer):
                raise LoginError(
                    f"{entry.url} is protected by {found.issuer}, "
                    f"not the configured issuer {self.config.issuer}"
                )
            scope = scope or " ".join(found.prm.scopes_supported or entry.scopes) or None
            kwargs: dict[str, Any] = {"sleep": sleep} if sleep else {}
            token = await device_authorization(
                http,
                found.raw_metadata,
                client_id=self.config.client_id,
                scope=scope,
                resource=entry.url,
                prompt=prompt or self._show_device_code,
                **kwargs,
            )
        if token.scope is None:
            token.scope = scope
        storage = self.storage(entry)
        storage.bind_issuer(found.issuer)
        await storage.set_tokens(token)  # refreshed later by the SDK with the pre-registered client
        storage.set_grant_flow("device")  # a step-up then asks for the device flow again, not a browser

    def _show_device_code(self, code: DeviceCode) -> None:
        target = code.verification_uri_complete or code.verification_uri
        print(
            f"To sign in, open {target}\nand confirm the code:  {code.user_code}\n"
            f"(waiting up to {code.expires_in // 60} min ...)",
            file=self.out,
            flush=True,
        )

    def logout(self, server: str | None = None) -> int:
        if server is None:
            return forget(self.config.state_dir)
        return forget(self.config.state_dir, self.config.server(server).url)
