"""The fleet manifest (`fleet.toml`): one validated source of truth for the front door.

Public API::

    load_manifest(path: Path | None = None) -> Manifest
        path=None: $FLEET_MANIFEST, else the first `fleet.toml` found walking up from cwd.
        Raises ManifestError (a ValueError) with a readable message on any problem.

    Manifest.gateway        origin, upstream_auth_mode ("strip" | "passthrough"), leeway_seconds
    Manifest.issuer         url, access_token_ttl_seconds, refresh_token_ttl_seconds, cimd_enabled
    Manifest.servers        [ServerEntry]: name, enabled, upstream, scopes, description,
                            .path "/mcp/<name>", .resource origin+path, .prm_url
    Manifest.enabled_servers, Manifest.server(name), Manifest.resources (RFC 8707 allow-list)
    Manifest.dev.users      [DevUser]: name, teams, scopes, password (None = no password prompt)
    Manifest.clients        [ClientEntry]: pre-registered OAuth clients (public or confidential)
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fleet_core import is_loopback
from fleet_core.http import PRM_PREFIX, prm_url

__all__ = [
    "ClientEntry",
    "DevSection",
    "DevUser",
    "GatewaySection",
    "IssuerSection",
    "Manifest",
    "ManifestError",
    "ServerEntry",
    "find_manifest",
    "load_manifest",
]

NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")


class ManifestError(ValueError):
    """The manifest is missing, unreadable or invalid; the message says what and where."""


def _origin(value: str) -> str:
    """An origin is scheme://host[:port] only: RFC 9728 §3.3 compares resources byte for byte."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} must be an absolute http(s) URL")
    if parts.path or parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValueError(f"{value!r} must be an origin: no path, trailing slash, query or fragment")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{value!r} must not contain userinfo")
    if parts.netloc != parts.netloc.lower():
        raise ValueError(f"{value!r}: the host must be lowercase")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError as exc:
        raise ValueError(f"{value!r}: bad port") from exc
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GatewaySection(_Model):
    origin: str
    upstream_auth_mode: Literal["strip", "passthrough"] = "passthrough"
    leeway_seconds: int = Field(default=30, ge=0, le=300)

    _check_origin = field_validator("origin")(_origin)


class IssuerSection(_Model):
    url: str
    access_token_ttl_seconds: int = Field(default=600, ge=30, le=3600)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    cimd_enabled: bool = True

    _check_url = field_validator("url")(_origin)


class ServerEntry(_Model):
    name: str
    upstream: str
    scopes: tuple[str, ...]
    enabled: bool = True
    description: str = ""
    origin: str = Field(default="", exclude=True, repr=False)  # filled in from [gateway] by Manifest

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.fullmatch(v):
            raise ValueError(f"server name {v!r} must match [a-z][a-z0-9-]*")
        return v

    @field_validator("upstream")
    @classmethod
    def _upstream(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"upstream {v!r} must be an absolute http(s) URL")
        if v.endswith("/") or parts.query or parts.fragment:
            raise ValueError(f"upstream {v!r}: no trailing slash, query or fragment")
        return v

    @model_validator(mode="after")
    def _scopes(self) -> ServerEntry:
        allowed = {f"{self.name}:read", f"{self.name}:write"}
        bad = [s for s in self.scopes if s not in allowed]
        if bad:
            raise ValueError(f"server {self.name!r}: scopes {bad} must be '{self.name}:read' or ':write'")
        if f"{self.name}:read" not in self.scopes:
            raise ValueError(f"server {self.name!r} must declare scope '{self.name}:read'")
        if len(set(self.scopes)) != len(self.scopes):
            raise ValueError(f"server {self.name!r}: duplicate scopes")
        return self

    @property
    def path(self) -> str:
        return f"/mcp/{self.name}"

    @property
    def resource(self) -> str:
        """The RFC 8707/9728 resource identifier: gateway origin + path, byte-exact."""
        return self.origin + self.path

    @property
    def prm_url(self) -> str:
        """RFC 9728 §3.1 path-inserted protected-resource-metadata URL."""
        return prm_url(self.resource)

    @property
    def prm_path(self) -> str:
        return PRM_PREFIX + self.path

    @property
    def read_scope(self) -> str:
        return f"{self.name}:read"


class DevUser(_Model):
    name: str
    teams: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    password: str | None = None  # dev only; None = one-click login on the dev login page

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.fullmatch(v):
            raise ValueError(f"dev user name {v!r} must match [a-z][a-z0-9-]*")
        return v


class DevSection(_Model):
    users: tuple[DevUser, ...] = ()


def redirect_uri_problem(uri: str) -> str | None:
    """Why `uri` can't be a redirect URI (None: it can). One rule for the manifest, CIMD documents and
    every authorization request, checked on the string itself: urlsplit drops TAB/CR/LF and lower-cases
    the scheme, so a URI it parses cleanly may still not be the one that was registered (finding 12.6)."""
    if any(ord(c) < 0x21 or ord(c) >= 0x7F for c in uri):
        return "must be printable ASCII without spaces or control characters"
    if not uri.startswith(("https://", "http://")):
        return "must be https or http on a loopback address (scheme in lower case)"
    parts = urlsplit(uri)
    try:
        port = parts.port
    except ValueError:
        return "has an invalid port"
    if port == 0:
        return "has port 0"
    # checklist A16 / OAuth 2.1 §1.5: https, or http only on loopback (RFC 8252 §7.3)
    if parts.scheme == "https" and not parts.hostname:
        return "has no host"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return "must be https or http on a loopback address"
    if "#" in uri:
        return "must not have a fragment"
    if "@" in parts.netloc:
        return "must not carry user information"
    return None


class ClientEntry(_Model):
    """A pre-registered OAuth client. Confidential clients read their secret from `secret_env`."""

    client_id: str
    name: str = ""
    type: Literal["public", "confidential"] = "public"
    redirect_uris: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")
    secret_env: str | None = None
    scopes: tuple[str, ...] = ()  # client_credentials: the scopes this client may get

    @field_validator("redirect_uris")
    @classmethod
    def _redirects(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for uri in v:
            problem = redirect_uri_problem(uri)
            if problem:
                raise ValueError(f"redirect URI {uri!r} {problem}")
        return v

    @model_validator(mode="after")
    def _kind(self) -> ClientEntry:
        if self.type == "confidential" and not self.secret_env:
            raise ValueError(f"client {self.client_id!r}: a confidential client needs secret_env")
        if self.type == "public" and self.secret_env:
            raise ValueError(f"client {self.client_id!r}: a public client has no secret")
        if self.type == "public" and "client_credentials" in self.grant_types:
            raise ValueError(f"client {self.client_id!r}: client_credentials needs a confidential client")
        if "authorization_code" in self.grant_types and not self.redirect_uris:
            raise ValueError(f"client {self.client_id!r}: authorization_code needs redirect_uris")
        return self

    def secret(self) -> str | None:
        """The confidential client's secret from the environment (never from the manifest)."""
        return os.environ.get(self.secret_env) if self.secret_env else None


class Manifest(_Model):
    gateway: GatewaySection
    issuer: IssuerSection
    servers: tuple[ServerEntry, ...]
    dev: DevSection = DevSection()
    clients: tuple[ClientEntry, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _inject_origin(cls, data: object) -> object:
        if isinstance(data, dict):
            origin = (data.get("gateway") or {}).get("origin", "")
            servers = data.get("servers") or []
            if isinstance(servers, (list, tuple)):
                data = {**data, "servers": [_with_origin(s, origin) for s in servers]}
        return data

    @model_validator(mode="after")
    def _cross_checks(self) -> Manifest:
        if not self.servers:
            raise ValueError("at least one [[servers]] entry is required")
        _unique("server name", [s.name for s in self.servers])
        _unique("dev user", [u.name for u in self.dev.users])
        _unique("client_id", [c.client_id for c in self.clients])
        known = {scope for s in self.servers for scope in s.scopes}
        for user in self.dev.users:
            unknown = sorted(set(user.scopes) - known)
            if unknown:
                raise ValueError(f"dev user {user.name!r}: unknown scopes {unknown}")
        for client in self.clients:
            unknown = sorted(set(client.scopes) - known)
            if unknown:
                raise ValueError(f"client {client.client_id!r}: unknown scopes {unknown}")
        return self

    @property
    def enabled_servers(self) -> tuple[ServerEntry, ...]:
        return tuple(s for s in self.servers if s.enabled)

    def server(self, name: str) -> ServerEntry:
        for s in self.servers:
            if s.name == name:
                return s
        raise KeyError(f"no server named {name!r} in the manifest")

    def server_for_resource(self, resource: str) -> ServerEntry | None:
        return next((s for s in self.enabled_servers if s.resource == resource), None)

    @property
    def resources(self) -> tuple[str, ...]:
        """RFC 8707 resources the issuer may mint tokens for (enabled servers only)."""
        return tuple(s.resource for s in self.enabled_servers)

    def user(self, name: str) -> DevUser | None:
        return next((u for u in self.dev.users if u.name == name), None)

    def client(self, client_id: str) -> ClientEntry | None:
        return next((c for c in self.clients if c.client_id == client_id), None)


def _with_origin(server: object, origin: str) -> object:
    # a server's resource always hangs off the gateway origin; a per-server "origin" key is ignored
    return {**server, "origin": origin} if isinstance(server, dict) else server


def _unique(what: str, names: list[str]) -> None:
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"duplicate {what}: {', '.join(dupes)}")


def find_manifest(start: Path | None = None) -> Path:
    """$FLEET_MANIFEST, else the nearest `fleet.toml` walking up from `start` (default: cwd)."""
    env = os.environ.get("FLEET_MANIFEST")
    if env:
        return Path(env)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "fleet.toml"
        if candidate.is_file():
            return candidate
    raise ManifestError(f"no fleet.toml found in {here} or its parents (set FLEET_MANIFEST)")


def load_manifest(path: Path | None = None) -> Manifest:
    path = Path(path) if path is not None else find_manifest()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(f"{path}: invalid manifest:\n{_explain(exc)}") from None


def _explain(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"  {where}: {msg}")
    return "\n".join(lines)
