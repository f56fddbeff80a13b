"""The caller's identity and the one parser of the X-MCP-* headers (DESIGN §3).

This is the only module that reads identity headers. It fails closed: anything missing,
malformed, duplicated, oversized, expired or meant for another resource is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "IDENTITY_HEADERS",
    "Identity",
    "IdentityError",
    "claim_fields",
    "header_fields",
    "identity_from_claims",
    "identity_from_fields",
    "identity_from_headers",
]

IDENTITY_HEADERS = {
    b"x-mcp-subject": "subject",
    b"x-mcp-scope": "scope",
    b"x-mcp-issuer": "issuer",
    b"x-mcp-audience": "audience",
    b"x-mcp-client": "client",
    b"x-mcp-token-id": "token_id",
    b"x-mcp-expires": "expires",
}
MAX_HEADER_BYTES = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class IdentityError(Exception):
    """Why a request's identity was refused (goes to the audit log, never to the caller)."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling, as the front door established it."""

    subject: str
    scopes: frozenset[str]
    issuer: str
    audience: tuple[str, ...]
    client_id: str | None
    token_id: str | None
    expires_at: datetime

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def _clean(name: str, value: str) -> str:
    # Control characters let an attacker forge log lines or smuggle headers (G20).
    if _CONTROL.search(value):
        raise IdentityError(f"control character in {name}")
    return value


def _expiry(value: str, now: datetime) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise IdentityError("expires is not RFC 3339") from None
    if when.tzinfo is None:
        raise IdentityError("expires has no UTC offset")
    if when <= now:
        raise IdentityError("identity expired")
    return when


def identity_from_fields(fields: Mapping[str, str], *, audience: str, issuer: str, now: datetime) -> Identity:
    """Check identity fields (header names without the X-MCP- prefix) and build the Identity."""
    subject = fields.get("subject", "")
    if not subject or subject != subject.strip() or " " in subject:
        raise IdentityError("missing or malformed subject")
    audiences = tuple(fields.get("audience", "").split())
    if audience not in audiences:
        raise IdentityError("audience is not this server")
    if issuer and fields.get("issuer", "") != issuer:
        raise IdentityError("issuer mismatch")
    if "expires" not in fields:
        raise IdentityError("missing expiry")
    return Identity(
        subject=subject,
        scopes=frozenset(fields.get("scope", "").split()),
        issuer=fields.get("issuer", ""),
        audience=audiences,
        client_id=fields.get("client") or None,
        token_id=fields.get("token_id") or None,
        expires_at=_expiry(fields["expires"], now),
    )


def header_fields(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Collect the X-MCP-* identity headers from raw ASGI headers, strictly."""
    fields: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = IDENTITY_HEADERS.get(raw_name.lower())
        if name is None:
            continue
        if name in fields:
            raise IdentityError(f"duplicated {name} header")
        if len(raw_value) > MAX_HEADER_BYTES:
            raise IdentityError(f"oversized {name} header")
        try:
            fields[name] = _clean(name, raw_value.decode())
        except UnicodeDecodeError:
            raise IdentityError(f"{name} is not UTF-8") from None
    return fields


def identity_from_headers(
    headers: Iterable[tuple[bytes, bytes]], *, audience: str, issuer: str = "", now: datetime | None = None
) -> Identity:
    """Parse and check the identity headers a trusted front door set."""
    return identity_from_fields(
        header_fields(headers), audience=audience, issuer=issuer, now=now or datetime.now(UTC)
    )


def claim_fields(claims: Mapping[str, Any]) -> dict[str, str]:
    """The X-MCP-* values a front door derives from token claims (same mapping as the Kong plugin)."""
    aud = claims.get("aud")
    fields = {
        "subject": claims.get("sub"),
        "scope": claims.get("scope"),
        "issuer": claims.get("iss"),
        "audience": " ".join(aud) if isinstance(aud, list) else aud,
        "client": claims.get("client_id") or claims.get("azp"),
        "token_id": claims.get("jti"),
        "expires": (
            datetime.fromtimestamp(claims["exp"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if isinstance(claims.get("exp"), int | float)
            else None
        ),
    }
    out: dict[str, str] = {}
    for name, value in fields.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise IdentityError(f"claim for {name} is not a string")
        out[name] = _clean(name, value)
    return out


def identity_from_claims(
    claims: Mapping[str, Any], *, audience: str, issuer: str = "", now: datetime | None = None
) -> Identity:
    """Identity from verified JWT claims (trust mode `jwt`)."""
    return identity_from_fields(
        claim_fields(claims), audience=audience, issuer=issuer, now=now or datetime.now(UTC)
    )
