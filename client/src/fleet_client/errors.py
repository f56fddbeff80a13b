"""The client's exceptions: each carries a message meant for the person at the terminal."""

from __future__ import annotations

import contextlib

__all__ = [
    "ConfigError",
    "DeviceFlowError",
    "DeviceSignInNeeded",
    "FleetClientError",
    "LoginError",
    "UnsafeURLError",
    "explain",
]


class FleetClientError(Exception):
    """Base class; `str(exc)` is a complete, user-facing sentence."""


class ConfigError(FleetClientError):
    """The configuration (manifest, config file, environment) is missing or invalid."""


class UnsafeURLError(FleetClientError):
    """A URL was refused: SSRF guard (C14) or authorization-URL validation (C15)."""


class LoginError(FleetClientError):
    """Authorization failed or was refused (state/iss mismatch, denied consent, no registration path)."""


class DeviceSignInNeeded(LoginError):
    """The grant for `resource` came from the device flow and must be renewed (for `scope`) by it."""

    def __init__(self, resource: str, scope: str | None, reason: str):
        super().__init__(
            f"{reason or resource + ' needs a new sign-in'}: run `fleet-client login --device` "
            f"(scope {scope or 'the server default'})"
        )
        self.resource, self.scope, self.reason = resource, scope, reason


class DeviceFlowError(LoginError):
    """The device authorization grant ended without a token (expired, denied, or an AS error)."""


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def explain(exc: BaseException) -> str | None:
    """A one-line, user-facing message for an error out of a connection, or None if unknown.

    The SDK's transports wrap errors in (nested) exception groups; the most specific one wins.
    """
    import httpx2
    from mcp.client.auth import OAuthFlowError, OAuthRegistrationError, OAuthTokenError
    from mcp.shared.exceptions import MCPError

    leaves = _leaves(exc)
    for kinds, prefix in (
        ((FleetClientError,), ""),
        ((OAuthRegistrationError,), "client registration failed: "),
        ((OAuthFlowError, OAuthTokenError), "sign-in failed: "),
        ((httpx2.HTTPError,), "network error: "),
        ((MCPError,), "the server answered with an error: "),
    ):
        for leaf in leaves:
            if isinstance(leaf, kinds):
                message = str(leaf) or type(leaf).__name__
                if isinstance(leaf, httpx2.RequestError):
                    # name what could not be reached: "All connection attempts failed" alone helps nobody
                    with contextlib.suppress(RuntimeError):  # raised when no request is attached
                        message = f"{leaf.request.url}: {message}"
                    if isinstance(leaf, httpx2.ConnectError):
                        message += " (is the front door running? locally: `uv run fleet dev`)"
                if isinstance(leaf, OAuthRegistrationError):
                    message += (
                        " — this authorization server may support neither Client ID Metadata Documents nor "
                        "dynamic registration: configure a pre-registered client_id (FLEET_CLIENT_CLIENT_ID)"
                    )
                return prefix + message
    return None
