"""Outbound URL checks: which URLs this client may fetch (SSRF, checklist C14) or hand to a
browser (C15).

Everything the client fetches — the MCP endpoint, protected-resource metadata, authorization
server metadata, registration, token and device endpoints, and every redirect hop — goes through
`GuardedTransport`, so a hostile `resource_metadata=` or metadata document cannot point the
client at a cloud metadata service or an intranet host.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import anyio
import httpx2

from .errors import UnsafeURLError

__all__ = ["GuardedTransport", "check_browser_url", "check_fetch_url", "is_loopback_host"]

_LOOPBACK_NAMES = {"localhost", "localhost."}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_loopback_host(host: str | None) -> bool:
    host = (host or "").strip("[]").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why an address may not be dialled, or None. Loopback is always fine (dev front door)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None
    # Link-local covers 169.254.169.254 (cloud instance metadata): never, whatever the setting.
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "a reserved address"
    if address.is_private and not allow_private:
        return "a private-network address (set allow_private_networks to allow)"
    return None


def check_fetch_url(url: str, *, allow_private: bool = False) -> None:
    """Static part of the C14 check: scheme and any literal IP. Raises UnsafeURLError."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise UnsafeURLError(f"refusing to fetch {url!r}: only absolute http(s) URLs are allowed")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURLError(f"refusing to fetch {_safe(url)}: URLs with userinfo are not allowed")
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    reason = _refusal(literal, allow_private) if literal is not None else None
    if reason:
        raise UnsafeURLError(f"refusing to fetch {_safe(url)}: {host} is {reason}")
    if parts.scheme == "http" and not is_loopback_host(host) and not allow_private:
        raise UnsafeURLError(f"refusing to fetch {_safe(url)}: plain http is allowed only on loopback")


async def _check_resolved(host: str, port: int, url: str, allow_private: bool) -> None:
    if is_loopback_host(host):
        return
    try:
        ipaddress.ip_address(host)
        return  # literal, already checked
    except ValueError:
        pass
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeURLError(f"cannot resolve {host!r} for {_safe(url)}: {exc}") from exc
    for *_, sockaddr in infos:
        reason = _refusal(ipaddress.ip_address(str(sockaddr[0]).split("%")[0]), allow_private)
        if reason:
            raise UnsafeURLError(f"refusing to fetch {_safe(url)}: {host} resolves to {reason}")


def check_browser_url(url: str) -> str:
    """C15: an authorization URL handed to a browser must be absolute http(s) — never
    javascript:, data:, file: or anything a browser would execute or read locally."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        scheme = parts.scheme or "(none)"
        raise UnsafeURLError(
            f"refusing to open the authorization URL: scheme {scheme!r} is not http(s) "
            "(the authorization server metadata may be hostile)"
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise UnsafeURLError("refusing to open the authorization URL: plain http is allowed only on loopback")
    return url


def _safe(url: str) -> str:
    """A URL for messages: no query (it may carry codes or tokens)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


class GuardedTransport(httpx2.AsyncBaseTransport):
    """Checks every outgoing request (and so every redirect hop) before it is sent.

    DNS answers are checked before connecting; a resolver that answers differently on the
    second lookup (DNS rebinding) is outside what a client-side check can stop — use an egress
    proxy for that (security best practices, SSRF).
    """

    def __init__(self, inner: httpx2.AsyncBaseTransport | None = None, *, allow_private: bool = False):
        self._inner = inner or httpx2.AsyncHTTPTransport()
        self._allow_private = allow_private

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = str(request.url)
        check_fetch_url(url, allow_private=self._allow_private)
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        await _check_resolved(request.url.host, port, url, self._allow_private)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
