"""The CORS policy of the front door: one definition for the dev gateway and Kong's cors plugin (G24).

Browser MCP clients must be able to preflight without a token and to read the 401 challenge.
Origins are "*" with credentials off (bearer tokens, no cookies); each server still checks Origin (S5).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CORS", "CorsPolicy"]


@dataclass(frozen=True)
class CorsPolicy:
    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    exposed_headers: tuple[str, ...]
    max_age: int


CORS = CorsPolicy(
    origins=("*",),
    methods=("GET", "HEAD", "POST", "DELETE", "OPTIONS"),
    headers=(
        "Authorization",
        "Content-Type",
        "Accept",
        "Mcp-Session-Id",
        "MCP-Protocol-Version",
        "Mcp-Method",
        "Mcp-Name",
        "Last-Event-ID",
    ),
    exposed_headers=("WWW-Authenticate", "Mcp-Session-Id", "MCP-Protocol-Version"),
    max_age=3600,
)
