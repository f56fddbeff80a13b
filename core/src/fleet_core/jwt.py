"""Verify access tokens from the fleet's issuer: discovery, a JWKS cache, pinned algorithms.

Used by servers in `jwt` trust mode and by the dev gateway. Signature work is PyJWT's; this
module only decides which key and which rules apply.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
import jwt
from jwt import PyJWK, PyJWKSet

from .http import QUERY_TOKEN_PARAMS

__all__ = ["ALGORITHMS", "QUERY_TOKEN_PARAMS", "InvalidToken", "JwksUnavailable", "JwksVerifier"]

# RS*/ES* only: HS256 would let anyone holding the public key forge tokens, `none` needs no key.
ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")

FAILED_FETCH_RETRY = 2.0  # seconds before a failed JWKS fetch is tried again


class InvalidToken(Exception):
    """The token is not acceptable (answer 401). The message is for logs, not for the caller;
    `public`, when set, is a reason safe to tell the caller (the signature was good)."""

    def __init__(self, message: str, public: str | None = None) -> None:
        super().__init__(message)
        self.public = public


class JwksUnavailable(Exception):
    """The issuer's keys could not be fetched (answer 503, not 401: the token may be fine)."""


def discovery_urls(issuer: str) -> list[str]:
    """RFC 8414 §3.1 (path-inserted) first, then OpenID Connect Discovery."""
    parts = urlsplit(issuer)
    origin, path = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
    return [
        f"{origin}/.well-known/oauth-authorization-server{path}",
        f"{origin}{path}/.well-known/openid-configuration",
    ]


class JwksVerifier:
    """Checks signature, iss, aud, exp/nbf (with leeway) and `type=access` of an issuer's tokens."""

    def __init__(
        self,
        issuer: str,
        *,
        leeway: int = 30,
        refetch_interval: float = 30.0,
        http: httpx2.AsyncClient | None = None,
        jwks_uri: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.issuer = issuer
        self.leeway = leeway
        self.refetch_interval = refetch_interval
        self._http = http or httpx2.AsyncClient(timeout=timeout, follow_redirects=False)
        self._jwks_uri = jwks_uri
        self._keys: dict[str, PyJWK] = {}
        self._attempted_at = float("-inf")
        self._failure: str | None = None  # why the last fetch failed, until one succeeds
        self._lock = anyio.Lock()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def verify(self, token: str, *, audience: str) -> dict[str, Any]:
        """Return the claims of a valid access token for `audience`; raise InvalidToken or JwksUnavailable."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from None
        alg, kid = header.get("alg"), header.get("kid")
        # decided before any key lookup: no JWKS needed to refuse a forgery
        if not isinstance(alg, str) or alg not in ALGORITHMS:
            raise InvalidToken(f"algorithm {alg!r} not allowed")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("token has no kid")
        key = await self._key(kid)
        declared = key._jwk_data.get("alg")
        family = {"RSA": "RS", "EC": "ES"}.get(key.key_type or "")
        if (declared and declared != alg) or family is None or not alg.startswith(family):
            raise InvalidToken("token algorithm does not match its key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud", "sub"], "strict_aud": False},
            )
        except jwt.InvalidAudienceError as exc:  # checked after the signature: the token is genuine
            public = f"the token was issued for another resource; this one is {audience} (RFC 8707 resource=)"
            raise InvalidToken(str(exc), public) from None
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken(str(exc), "the access token has expired") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        if claims.get("type") != "access":  # a refresh token must never work as a bearer (G13)
            raise InvalidToken("not an access token")
        return claims

    async def _key(self, kid: str) -> PyJWK:
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if kid in self._keys:
                return self._keys[kid]
            # Unknown kid: refetch (keys rotate), but rate-limited — successes and failures alike — so
            # random kids can't hammer the issuer, least of all while it is struggling.
            wait = min(self.refetch_interval, FAILED_FETCH_RETRY) if self._failure else self.refetch_interval
            if time.monotonic() - self._attempted_at < wait:
                if self._failure is not None:
                    raise JwksUnavailable(self._failure)
                raise InvalidToken("unknown signing key")
            await self._refresh()
        if kid not in self._keys:
            raise InvalidToken("unknown signing key")
        return self._keys[kid]

    async def _refresh(self) -> None:
        self._attempted_at = time.monotonic()
        try:
            uri = self._jwks_uri or await self._discover()
            response = await self._http.get(uri)
            response.raise_for_status()
            keyset = PyJWKSet.from_dict(response.json())
        except jwt.PyJWKSetError as exc:
            self._failure = f"issuer's JWKS has no usable key: {exc}"
            raise JwksUnavailable(self._failure) from None
        except (httpx2.HTTPError, ValueError, jwt.PyJWTError) as exc:
            self._failure = f"cannot load the issuer's JWKS: {exc.__class__.__name__}"
            raise JwksUnavailable(self._failure) from None
        self._keys = {k.key_id: k for k in keyset.keys if k.key_id and k.key_type in ("RSA", "EC")}
        self._failure = None

    async def _discover(self) -> str:
        for url in discovery_urls(self.issuer):
            response = await self._http.get(url)
            if response.status_code != 200:
                continue
            meta = response.json()
            if meta.get("issuer") != self.issuer:  # RFC 8414 §3.3: must be byte-identical
                raise ValueError("issuer in metadata does not match")
            jwks_uri = meta.get("jwks_uri")
            if isinstance(jwks_uri, str) and jwks_uri.startswith(("https://", "http://")):
                self._jwks_uri = jwks_uri
                return jwks_uri
        raise ValueError("no authorization server metadata found")
