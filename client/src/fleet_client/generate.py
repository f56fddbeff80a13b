"""Files generated from configuration: editor `mcp.json` snippets and the CIMD document.

mcp_json(config, "vscode" | "claude") -> dict     servers from the manifest, as HTTP MCP servers
metadata_document(url) -> dict                    the Client ID Metadata Document to host at `url`
"""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import urlsplit

from .config import CIMD_REDIRECT_PORT, ClientConfig
from .errors import ConfigError

__all__ = ["dumps", "mcp_json", "metadata_document"]

Format = Literal["vscode", "claude"]


def mcp_json(config: ClientConfig, fmt: Format) -> dict[str, Any]:
    """VS Code (`.vscode/mcp.json`, key `servers`) or Claude Code (`.mcp.json`, key `mcpServers`).
    Both editors run the OAuth flow against the front door themselves."""
    entries = {f"fleet-{s.name}": {"type": "http", "url": s.url} for s in config.servers}
    return {"servers": entries} if fmt == "vscode" else {"mcpServers": entries}


def metadata_document(url: str, *, redirect_port: int = CIMD_REDIRECT_PORT) -> dict[str, Any]:
    """C10: https URL with a path, `client_id` byte-equal to it, public client, fixed loopback redirect."""
    parts = urlsplit(url)
    if parts.scheme != "https" or parts.path in ("", "/") or parts.fragment or parts.query:
        raise ConfigError(
            f"a client metadata URL must be https with a path and no query/fragment, not {url!r}"
        )
    return {
        "client_id": url,
        "client_name": "fleet-client",
        "redirect_uris": [f"http://127.0.0.1:{redirect_port}/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"
