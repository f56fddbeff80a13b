"""Verified claims → the X-MCP-* identity headers, exactly as kong-mcp-oauth2's access.go renders them."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["ClaimError", "forwarded_headers", "has_control_chars"]


class ClaimError(Exception):
    """A claim can't be forwarded as a header value (answer 401 invalid_token)."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_control_chars(value: str) -> bool:
    # A CR/LF in a forwarded claim could split or smuggle an upstream header (G20).
    return _CONTROL.search(value) is not None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _joined(value: Any) -> str:
    # aud may be a string or an array (RFC 7519 §4.1.3); arrays are space-joined, non-strings skipped.
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(v for v in value if isinstance(v, str))
    return ""


def _rfc3339(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(value)))


def forwarded_headers(claims: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The seven trusted headers in plugin order; an empty value means "clear it" (absent claim)."""
    headers = [
        ("x-mcp-subject", _text(claims.get("sub"))),
        ("x-mcp-scope", _text(claims.get("scope"))),
        ("x-mcp-issuer", _text(claims.get("iss"))),
        ("x-mcp-audience", _joined(claims.get("aud"))),
        ("x-mcp-client", _text(claims.get("client_id")) or _text(claims.get("azp"))),
        ("x-mcp-token-id", _text(claims.get("jti"))),
        ("x-mcp-expires", _rfc3339(claims.get("exp"))),
    ]
    if any(has_control_chars(value) for _, value in headers):
        raise ClaimError("control character in a forwarded claim")
    return headers
