"""How a server is told to trust the front door, derived from the manifest (DESIGN §3.1).

`upstream_auth_mode = "passthrough"` (the default, and production with Kong): the gateway forwards the
bearer, the server verifies it itself (`jwt` trust mode) and takes the account name from the token's
username claim (AuthGate: `extra_uid`); its own gateway secret is a second lock.
`"strip"`: the server trusts the X-MCP-* headers on its gateway secret alone (`gateway-secret` mode), so
the account name comes from the user map (`sub` is a UUID with AuthGate).
Either way each server has its own secret, so one compromised server can't impersonate callers at another.
"""

from __future__ import annotations

import json

from fleet_core import dev_subject, env_prefix

from .manifest import Manifest, ServerEntry

__all__ = ["dev_user_map", "gateway_secret_var", "trust_settings"]


def gateway_secret_var(server: ServerEntry) -> str:
    """The environment variable holding `server`'s gateway secret (`.env`, the dev gateway, decK)."""
    return "FLEET_GATEWAY_SECRET_" + env_prefix(server.name).removeprefix("FLEET_").removesuffix("_")


def dev_user_map(manifest: Manifest) -> dict[str, str]:
    """Subjects of the dev world → account names: client-credentials clients (`client:<id>` → id) always,
    dev users (UUID → name) when the servers can't read the username claim (strip mode)."""
    accounts = {
        f"client:{c.client_id}": c.client_id
        for c in manifest.clients
        if "client_credentials" in c.grant_types
    }
    if manifest.gateway.upstream_auth_mode == "strip":
        accounts |= {dev_subject(user.name): user.name for user in manifest.dev.users}
    return accounts


def trust_settings(manifest: Manifest, server: ServerEntry, secret: str) -> dict[str, str]:
    """The core settings (names without the FLEET_<NAME>_ prefix, values as environment strings)."""
    values = {
        "PUBLIC_URL": server.resource,
        "ISSUER": manifest.issuer.url,
        "GATEWAY_SECRETS": secret,
        "USER_MAP": json.dumps(dev_user_map(manifest)),
    }
    # --8<-- [start:modes]
    if manifest.gateway.upstream_auth_mode == "passthrough":
        return values | {"TRUST_MODE": "jwt", "ACCOUNT_SOURCE": "claim"}
    return values | {"TRUST_MODE": "gateway-secret", "ACCOUNT_SOURCE": "user_map"}
    # --8<-- [end:modes]
