"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25
"Client ID Metadata Documents"): a client_id that is a URL is fetched and must describe itself.

SSRF defences (MCP security best practices, SSRF): https only (http only for loopback with the dev
flag), the host is resolved once and every address must be public (loopback only with the dev flag;
private, link-local, metadata and reserved ranges never), and the connection goes to the checked
address (SNI/Host keep the name), so DNS rebinding between check and dial gains nothing.
No redirects, 64 KiB, a few seconds. Responses are cached per their HTTP caching headers.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio
import httpx2

from fleet_core import is_loopback
from fleet_frontdoor.manifest import redirect_uri_problem

MAX_BYTES = 64 * 1024
MAX_CACHE_SECONDS = 24 * 3600
MAX_CACHE_ENTRIES = 256  # anyone can make us fetch: keep the cache bounded
_DOT_SEGMENT = re.compile(r"(^|/)\.\.?(/|$)")


class CimdError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class ClientMetadata:
    client_id: str
    client_name: str
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]


def is_cimd_client_id(client_id: str) -> bool:
    return client_id.startswith(("https://", "http://"))


class CimdFetcher:
    def __init__(
        self,
        *,
        allow_loopback: bool,
        clock: Callable[[], float],
        timeout: float = 5.0,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.allow_loopback = allow_loopback
        self._clock = clock
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._cache: dict[str, tuple[float, ClientMetadata]] = {}
        self._http = httpx2.AsyncClient(follow_redirects=False, trust_env=False, timeout=timeout)
        self.fetches = 0  # observable for tests of the cache

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get(self, client_id: str) -> ClientMetadata:
        cached = self._cache.get(client_id)
        if cached and cached[0] > self._clock():
            return cached[1]
        self._cache.pop(client_id, None)
        target = self._check_url(client_id)
        metadata, ttl = await self._fetch(client_id, *target)
        if ttl > 0:
            if len(self._cache) >= MAX_CACHE_ENTRIES:
                self._cache.pop(next(iter(self._cache)))
            self._cache[client_id] = (self._clock() + ttl, metadata)
        return metadata

    def _check_url(self, url: str) -> tuple[str, int]:
        parts = urlsplit(url)
        loopback_http = parts.scheme == "http" and self.allow_loopback and is_loopback(parts.hostname)
        if parts.scheme != "https" and not loopback_http:
            raise CimdError("unauthorized_client", "a URL client_id must use https")
        if not parts.hostname or parts.username is not None or parts.password is not None:
            raise CimdError("invalid_client", "client_id URL needs a host and no userinfo")
        if "#" in url or not parts.path or parts.path == "/" or _DOT_SEGMENT.search(parts.path):
            raise CimdError("invalid_client", "client_id URL needs a path, without dot segments or fragment")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise CimdError("invalid_client", "client_id URL has a bad port") from None
        return parts.hostname, port

    async def _resolve(self, host: str, port: int) -> str:
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            raise CimdError("invalid_client", "client_id host does not resolve") from None
        addresses = sorted({str(info[4][0]) for info in infos}, key=lambda a: (":" in a, a))
        for address in addresses:
            if not self._address_allowed(ipaddress.ip_address(address.split("%")[0])):
                # one bad answer is enough: a mixed answer is a rebinding attempt
                raise CimdError("invalid_client", "client_id host resolves to a non-public address")
        if not addresses:
            raise CimdError("invalid_client", "client_id host does not resolve")
        return addresses[0]

    def _address_allowed(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if ip.is_loopback:
            return self.allow_loopback
        return ip.is_global and not ip.is_multicast

    async def _fetch(self, url: str, host: str, port: int) -> tuple[ClientMetadata, float]:
        parts = urlsplit(url)
        try:
            with anyio.fail_after(self._timeout):
                address = await self._resolve(host, port)
                literal = f"[{address}]" if ":" in address else address
                pinned = parts._replace(netloc=f"{literal}:{port}").geturl()
                request = self._http.build_request(
                    "GET",
                    pinned,
                    headers={"Host": parts.netloc, "Accept": "application/json"},
                    extensions={"sni_hostname": host},
                )
                response = await self._http.send(request, stream=True)
                try:
                    body = await self._read(response)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise CimdError("invalid_client", "client metadata fetch timed out") from None
        except httpx2.HTTPError:
            raise CimdError("invalid_client", "client metadata could not be fetched") from None
        return parse_metadata(url, body), _freshness(response.headers, self._clock())

    async def _read(self, response: httpx2.Response) -> bytes:
        if 300 <= response.status_code < 400:
            raise CimdError("invalid_client", "client metadata fetch must not redirect")
        if response.status_code != 200:
            raise CimdError("invalid_client", f"client metadata fetch answered {response.status_code}")
        declared = response.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > self._max_bytes:
            raise CimdError("invalid_client", "client metadata document too large")
        body = b""
        async for chunk in response.aiter_bytes():  # decoded: caps a compression bomb too
            body += chunk
            if len(body) > self._max_bytes:
                raise CimdError("invalid_client", "client metadata document too large")
        self.fetches += 1
        return body


def parse_metadata(url: str, body: bytes) -> ClientMetadata:
    """A client metadata document, validated as the dev AS does on fetch (also `fleet workshop check 05`)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise CimdError("invalid_client", "client metadata is not JSON") from None
    if not isinstance(doc, dict):
        raise CimdError("invalid_client", "client metadata must be a JSON object")
    if doc.get("client_id") != url:
        raise CimdError("invalid_client", "client metadata client_id does not equal its URL")
    if "client_secret" in doc or doc.get("token_endpoint_auth_method", "none") != "none":
        raise CimdError("invalid_client", "a metadata-document client is public: no client_secret")
    uris = doc.get("redirect_uris")
    if not isinstance(uris, list) or not 1 <= len(uris) <= 10 or not all(isinstance(u, str) for u in uris):
        raise CimdError("invalid_client", "client metadata needs 1 to 10 redirect_uris")
    for uri in uris:
        problem = redirect_uri_problem(uri)
        if problem:
            raise CimdError(
                "invalid_client", f"redirect_uris must be https or loopback http: {uri!r} {problem}"
            )
    name = doc.get("client_name")
    grants = doc.get("grant_types") or ["authorization_code"]
    if not isinstance(grants, list) or not all(isinstance(g, str) for g in grants):
        raise CimdError("invalid_client", "grant_types must be a list of strings")
    allowed = tuple(g for g in grants if g in ("authorization_code", "refresh_token"))
    return ClientMetadata(
        client_id=url,
        client_name=name[:100] if isinstance(name, str) else "",
        redirect_uris=tuple(uris),
        grant_types=allowed,
    )


def _freshness(headers: httpx2.Headers, now: float) -> float:
    """Seconds the document may be reused (RFC 9111 §4.2.1); 0 = do not cache."""
    directives = {}
    for part in headers.get("cache-control", "").split(","):
        key, _, value = part.strip().partition("=")
        directives[key.lower()] = value.strip('"')
    if {"no-store", "no-cache"} & directives.keys():
        return 0
    if "max-age" in directives:
        age = directives["max-age"]
        return min(int(age), MAX_CACHE_SECONDS) if age.isdigit() else 0
    expires = headers.get("expires")
    if expires:
        try:
            when = email.utils.parsedate_to_datetime(expires).timestamp()
        except (TypeError, ValueError):
            return 0
        return max(0.0, min(when - now, MAX_CACHE_SECONDS))
    return 0
