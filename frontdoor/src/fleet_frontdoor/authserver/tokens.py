"""AuthGate-shaped JWTs: RS256 with `kid`, claims iss sub user_id client_id scope type exp iat jti aud,
and the username in `extra_uid` (see frontdoor/README.md, "AuthGate's token claims", for the source).

Like AuthGate, `sub` and `user_id` are the user's stable UUID (fleet_core.dev_subject), never the name;
client-credentials tokens have `sub = user_id = client:<client_id>` and no username claim.

Access tokens: `aud` = the RFC 8707 resource (a gateway route), short TTL.
Refresh tokens: `type=refresh`, `aud` = the issuer itself (never a resource URL, checklist A7), and
the authorize-time resource kept in a private claim so refresh can only narrow it (checklist A5).
Each grant is a *family*; revoking the family (refresh reuse, code replay, revoke) kills all its tokens.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from fleet_core import dev_subject
from fleet_frontdoor.authserver.keys import KeyRing
from fleet_frontdoor.authserver.store import Store


class TokenError(Exception):
    """The token is not one of ours, malformed, expired, revoked or of the wrong type."""


@dataclass(frozen=True)
class Grant:
    """Who got what: the facts every token of one family is minted from."""

    subject: str
    user_id: str
    client_id: str
    scope: str
    resource: str
    family: str
    username: str | None = None  # the `extra_uid` claim; None for machine (client-credentials) tokens


# AuthGate: `<JWT_PRIVATE_CLAIM_PREFIX>_uid` with the default prefix `extra` (services/token.go)
USERNAME_CLAIM = "extra_uid"


def user_grant(username: str, client_id: str, scope: str, resource: str, family: str) -> Grant:
    """A grant for dev user `username`, shaped as AuthGate shapes a user's: UUID subject, name in a claim."""
    subject = dev_subject(username)
    return Grant(subject, subject, client_id, scope, resource, family, username)


class TokenService:
    def __init__(
        self,
        *,
        issuer: str,
        keys: KeyRing,
        store: Store,
        access_ttl: int,
        refresh_ttl: int,
        clock: Callable[[], float],
    ) -> None:
        self.issuer = issuer
        self.keys = keys
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self._store = store
        self._clock = clock

    def new_family(self, *, lifetime: float | None = None) -> str:
        family = secrets.token_urlsafe(16)
        expires = self._clock() + (lifetime or self.refresh_ttl)
        self._store.run("INSERT INTO families (id, expires) VALUES (?, ?)", family, expires)
        return family

    def revoke_family(self, family: str) -> None:
        self._store.run("UPDATE families SET revoked = 1 WHERE id = ?", family)

    def mint_access(self, grant: Grant) -> str:
        claims = self._claims(grant, "access", grant.resource, self.access_ttl)
        self._store.run(
            "INSERT INTO access (jti, family, expires) VALUES (?, ?, ?)",
            claims["jti"],
            grant.family,
            claims["exp"],
        )
        return self._sign(claims)

    def mint_refresh(self, grant: Grant) -> str:
        claims = self._claims(grant, "refresh", self.issuer, self.refresh_ttl)
        claims["resource"] = grant.resource
        family = self._store.one("SELECT expires FROM families WHERE id = ?", grant.family)
        if family is not None:  # rotation never outlives the grant's absolute lifetime
            claims["exp"] = min(claims["exp"], int(family["expires"]))
        self._store.run(
            "INSERT INTO refresh (jti, family, expires) VALUES (?, ?, ?)",
            claims["jti"],
            grant.family,
            claims["exp"],
        )
        return self._sign(claims)

    def decode(self, token: str, expected: Literal["access", "refresh"] | None = None) -> dict[str, Any]:
        """Verify signature (RS256 only), `iss`, `exp`, type and revocation; return the claims."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self.keys.public_keys().get(kid) if isinstance(kid, str) else None
            if key is None:
                raise TokenError("unknown signing key")
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=self.issuer,
                # time is checked below against the injectable clock
                options={
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["exp", "iat", "jti", "sub", "type"],
                },
            )
        except jwt.PyJWTError as exc:
            raise TokenError(str(exc)) from None
        if not isinstance(claims["exp"], int) or claims["exp"] <= self._clock():
            raise TokenError("token expired")
        if expected is not None and claims.get("type") != expected:
            raise TokenError(f"not an {expected} token")
        if not self.is_live(claims):
            raise TokenError("token revoked")
        return claims

    def is_live(self, claims: dict[str, Any]) -> bool:
        """Not revoked, and its family not revoked. (Refresh *use* is tracked by `use_refresh`.)"""
        if claims.get("type") == "refresh":
            sql = "SELECT 0, f.revoked FROM refresh t JOIN families f ON f.id = t.family WHERE t.jti = ?"
        else:
            sql = (
                "SELECT t.revoked, f.revoked FROM access t LEFT JOIN families f ON f.id = t.family "
                "WHERE t.jti = ?"
            )
        row = self._store.one(sql, claims.get("jti"))
        return row is not None and not row[0] and not row[1]

    def use_refresh(self, jti: str) -> bool:
        """Mark a refresh token used; False when it was already used (replay, RFC 9700 §4.14.2)."""
        return self._store.run("UPDATE refresh SET used = 1 WHERE jti = ? AND used = 0", jti) == 1

    def revoke_access(self, jti: str) -> None:
        self._store.run("UPDATE access SET revoked = 1 WHERE jti = ?", jti)

    def _claims(self, grant: Grant, kind: str, aud: str, ttl: int) -> dict[str, Any]:
        now = int(self._clock())
        return {
            "iss": self.issuer,
            "sub": grant.subject,
            "user_id": grant.user_id,
            "client_id": grant.client_id,
            "scope": grant.scope,
            "type": kind,
            "aud": aud,
            "iat": now,
            "exp": now + ttl,
            "jti": secrets.token_urlsafe(16),
        } | ({USERNAME_CLAIM: grant.username} if grant.username else {})

    def _sign(self, claims: dict[str, Any]) -> str:
        kid, key = self.keys.signing()
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})
