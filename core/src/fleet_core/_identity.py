"""The caller's identity and the one parser of the X-MCP-* headers (DESIGN §3).

This is the only module that reads identity headers. It fails closed: anything missing,
malformed, duplicated, oversized, expired or meant for another resource is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "IDENTITY_HEADERS",
    "Identity",
    "IdentityError",
    "claim_fields",
    "claim_headers",
    "clean_account",
    "header_fields",
    "identity_from_fields",
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


class IdentityExpired(IdentityError):
    """The identity's token has expired: the one refusal the caller is told (to refresh it)."""


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
    # The name the backend knows the caller by (Gitea username, PostgreSQL fleet.subject, wiki/Sentry
    # attribution). The gate resolves it per the server's `account_source`; None = no usable name, and
    # every tool that acts on the backend refuses (ServerSettings.account_of), never the service account.
    account: str | None = None

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
        raise IdentityExpired("identity expired")
    return when


def identity_from_fields(
    fields: Mapping[str, str],
    *,
    audience: str,
    issuer: str,
    now: datetime,
    account: Callable[[str], str | None] | None = None,
) -> Identity:
    """Check identity fields (header names without the X-MCP- prefix) and build the Identity; `account`
    maps its checked subject to the backend account name (Identity.account)."""
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
        account=account(subject) if account is not None else None,
    )


def clean_account(value: Any) -> str | None:
    """A usable account name, or None: a non-empty string without control characters, surrounding
    whitespace or more than 255 characters (it ends up in headers, SQL settings and edit summaries)."""
    if not isinstance(value, str) or not value or value != value.strip() or len(value) > 255:
        return None
    return None if _CONTROL.search(value) else value


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


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _expires(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def claim_headers(claims: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The seven X-MCP-* headers a front door derives from verified claims, exactly as the Kong
    mcp-oauth2 plugin renders them; an empty value means "clear the header" (the claim is absent or
    not a string). A control character in any value raises IdentityError (G20)."""
    aud = claims.get("aud")
    audience = " ".join(a for a in aud if isinstance(a, str)) if isinstance(aud, list) else _text(aud)
    headers = [
        ("x-mcp-subject", _text(claims.get("sub"))),
        ("x-mcp-scope", _text(claims.get("scope"))),
        ("x-mcp-issuer", _text(claims.get("iss"))),
        ("x-mcp-audience", audience),
        ("x-mcp-client", _text(claims.get("client_id")) or _text(claims.get("azp"))),
        ("x-mcp-token-id", _text(claims.get("jti"))),
        ("x-mcp-expires", _expires(claims.get("exp"))),
    ]
    for name, value in headers:
        _clean(IDENTITY_HEADERS[name.encode()], value)
    return headers


def claim_fields(claims: Mapping[str, Any]) -> dict[str, str]:
    """The identity fields (header names without the X-MCP- prefix) that verified claims carry."""
    return {IDENTITY_HEADERS[name.encode()]: value for name, value in claim_headers(claims) if value}
