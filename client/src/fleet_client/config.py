"""Where the client finds the front door, its servers and its OAuth client registration.

Sources, later ones win field by field:

1. the fleet manifest `fleet.toml` (`$FLEET_MANIFEST`, else the first one found walking up from
   the working directory) — gateway origin, issuer, servers: works against `fleet dev` as is;
2. the client config file (`$FLEET_CLIENT_CONFIG`, else `$XDG_CONFIG_HOME/fleet-client/config.toml`)
   — e.g. a Kong + AuthGate deployment (see README);
3. environment variables `FLEET_CLIENT_*` (table in the README).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError

__all__ = ["DEFAULT_GATEWAY", "ClientConfig", "ServerEntry", "config_home", "load_config"]

DEFAULT_GATEWAY = "http://127.0.0.1:8700"
DEFAULT_CLIENT_ID = "fleet-client"  # pre-registered public client of the dev AS (fleet.toml [[clients]])
CIMD_REDIRECT_PORT = 8765  # the fixed loopback port listed in client-metadata.json (C10)


class ServerEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    url: str
    scopes: tuple[str, ...] = ()
    description: str = ""


class ClientCredentials(BaseModel):
    """A confidential client for automation (client_credentials grant)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    client_id: str
    client_secret_env: str = "FLEET_CLIENT_CC_SECRET"  # noqa: S105 - a variable name
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"  # noqa: S105 - a method name

    def secret(self, env: Mapping[str, str]) -> str:
        value = env.get(self.client_secret_env, "")
        if not value:
            raise ConfigError(
                f"client credentials for {self.client_id!r}: set the secret in ${self.client_secret_env}"
            )
        return value


class ClientConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    gateway: str = DEFAULT_GATEWAY
    issuer: str | None = None
    servers: tuple[ServerEntry, ...] = ()
    # Registration, in the spec's priority order: pre-registered -> CIMD -> DCR (C9).
    client_id: str | None = DEFAULT_CLIENT_ID
    client_secret: str | None = Field(default=None, repr=False)
    token_endpoint_auth_method: Literal["none", "client_secret_basic", "client_secret_post"] = "none"  # noqa: S105 - a method name
    client_metadata_url: str | None = None
    client_name: str = "fleet-client"
    redirect_port: int = Field(default=0, ge=0, le=65535)  # 0: any free loopback port (RFC 8252 §7.3)
    client_credentials: ClientCredentials | None = None
    allow_private_networks: bool = False
    protocol: Literal["auto", "legacy"] = "auto"
    state_dir: Path = Field(default_factory=lambda: config_home() / "fleet-client")
    config_file: Path | None = None  # the file read, if any (named in error messages)

    @field_validator("gateway")
    @classmethod
    def _origin(cls, v: str) -> str:
        return v.rstrip("/")

    @property
    def effective_redirect_port(self) -> int:
        # A CIMD document lists exact redirect URIs, so its loopback port must be fixed (C10).
        if self.redirect_port == 0 and self.client_metadata_url and not self.client_id:
            return CIMD_REDIRECT_PORT
        return self.redirect_port

    def server(self, name_or_url: str) -> ServerEntry:
        """A server by manifest name, or an ad-hoc entry for a full MCP endpoint URL."""
        for entry in self.servers:
            if entry.name == name_or_url:
                return entry
        if name_or_url.startswith(("http://", "https://")):
            return ServerEntry(name=name_or_url, url=name_or_url)
        known = ", ".join(s.name for s in self.servers) or "none configured"
        raise ConfigError(f"unknown server {name_or_url!r} (known: {known}); or pass a full https:// URL")


def config_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    xdg = env.get("XDG_CONFIG_HOME", "")
    return Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"


def _find_manifest(env: Mapping[str, str], cwd: Path) -> Path | None:
    if env.get("FLEET_MANIFEST"):
        path = Path(env["FLEET_MANIFEST"])
        if not path.is_file():
            raise ConfigError(f"$FLEET_MANIFEST points at {path}, which does not exist")
        return path
    for folder in (cwd, *cwd.parents):
        candidate = folder / "fleet.toml"
        if candidate.is_file():
            return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def _from_manifest(data: dict[str, Any]) -> dict[str, Any]:
    gateway = str((data.get("gateway") or {}).get("origin", DEFAULT_GATEWAY)).rstrip("/")
    out: dict[str, Any] = {"gateway": gateway}
    if (data.get("issuer") or {}).get("url"):
        out["issuer"] = data["issuer"]["url"]
    out["servers"] = [
        {
            "name": s["name"],
            "url": f"{gateway}/mcp/{s['name']}",
            "scopes": s.get("scopes", []),
            "description": s.get("description", ""),
        }
        for s in data.get("servers", [])
        if s.get("enabled", True)
    ]
    return out


def _from_file(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    gateway = str(out.get("gateway", "")).rstrip("/")
    if "servers" in out:
        out["servers"] = [
            {**s, "url": s.get("url") or f"{gateway or DEFAULT_GATEWAY}/mcp/{s['name']}"}
            for s in out["servers"]
        ]
    return out


_ENV = {
    "FLEET_CLIENT_GATEWAY": "gateway",
    "FLEET_CLIENT_ISSUER": "issuer",
    "FLEET_CLIENT_CLIENT_ID": "client_id",
    "FLEET_CLIENT_CLIENT_SECRET": "client_secret",
    "FLEET_CLIENT_TOKEN_ENDPOINT_AUTH_METHOD": "token_endpoint_auth_method",
    "FLEET_CLIENT_METADATA_URL": "client_metadata_url",
    "FLEET_CLIENT_REDIRECT_PORT": "redirect_port",
    "FLEET_CLIENT_ALLOW_PRIVATE_NETWORKS": "allow_private_networks",
    "FLEET_CLIENT_PROTOCOL": "protocol",
    "FLEET_CLIENT_STATE_DIR": "state_dir",
}


def load_config(
    env: Mapping[str, str] | None = None, *, cwd: Path | None = None, manifest: Path | None = None
) -> ClientConfig:
    env = os.environ if env is None else env
    merged: dict[str, Any] = {"state_dir": config_home(env) / "fleet-client"}
    manifest = manifest or _find_manifest(env, cwd or Path.cwd())
    if manifest is not None:
        merged.update(_from_manifest(_read_toml(manifest)))
    config_file = Path(env["FLEET_CLIENT_CONFIG"]) if env.get("FLEET_CLIENT_CONFIG") else None
    if config_file is None:
        default = config_home(env) / "fleet-client" / "config.toml"
        config_file = default if default.is_file() else None
    if config_file is not None:
        file_data = _from_file(_read_toml(config_file))
        if "gateway" in file_data and "servers" not in file_data:
            # Another front door: the manifest's server URLs named the old gateway.
            origin = str(file_data["gateway"]).rstrip("/")
            merged["servers"] = [{**s, "url": f"{origin}/mcp/{s['name']}"} for s in merged.get("servers", [])]
        merged.update(file_data)
        merged["config_file"] = config_file
    derived_from = str(merged.get("gateway", DEFAULT_GATEWAY)).rstrip("/")
    for var, field in _ENV.items():
        if var in env:
            value = env[var]
            merged[field] = None if value == "" and field in ("client_id", "client_metadata_url") else value
    origin = str(merged.get("gateway", DEFAULT_GATEWAY)).rstrip("/")
    if origin != derived_from:
        # FLEET_CLIENT_GATEWAY names another front door: move the servers whose URLs were made from
        # the previous origin (manifest or file) onto it; a server given a full `url` keeps it.
        merged["servers"] = [
            {**s, "url": f"{origin}/mcp/{s['name']}"}
            if s.get("url") == f"{derived_from}/mcp/{s['name']}"
            else s
            for s in merged.get("servers", [])
        ]
    try:
        return ClientConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(f"invalid client configuration: {exc}") from exc
