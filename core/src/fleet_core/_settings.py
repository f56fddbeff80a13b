"""Settings every server shares; each server subclasses ServerSettings with its own env prefix."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ._accounts import UserMap
from ._errors import ToolError
from ._identity import Identity, clean_account
from .http import prm_url

__all__ = ["BackendUrl", "ServerSettings", "TrustMode", "env_prefix", "is_loopback", "package_name"]


def env_prefix(server: str) -> str:
    """The one environment prefix of a server's settings: `my-svc` → `FLEET_MY_SVC_` (a hyphen is not
    allowed in a shell variable name). The core, the front door and generated files all build it here."""
    if not server or not all(c.isascii() and (c.isalnum() or c in "-_") for c in server):
        raise ValueError(f"{server!r} is not a server name (ASCII letters, digits, '-' and '_')")
    return "FLEET_" + server.upper().replace("-", "_") + "_"


def package_name(server: str) -> str:
    """The one import name of a server: `my-svc` → `fleet_my_svc` (its hooks are `fleet_my_svc.dev` and
    `fleet_my_svc.deploy`; `python -m fleet_my_svc` runs it)."""
    return env_prefix(server).removesuffix("_").lower()


class TrustMode(StrEnum):
    GATEWAY_SECRET = "gateway-secret"  # noqa: S105 - a mode name, not a secret
    JWT = "jwt"
    INSECURE_DEV = "insecure-dev"


def _split(value: object) -> object:
    # Lists arrive from the environment as comma-separated strings.
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _backend_url(value: str) -> str:
    if not value:
        return value  # unset: the server decides whether that is allowed (or a dev fallback)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"{value!r} must be an absolute http(s) URL without query or fragment")
    return value.rstrip("/")


# A backend's base URL setting (Gitea, Sentry, the wiki's script path): absolute http(s), no query or
# fragment, trailing "/" dropped so paths can be appended.
BackendUrl = Annotated[str, AfterValidator(_backend_url)]


def is_loopback(host: str | None) -> bool:
    """`localhost` or a loopback address (IPv6 in brackets or not): the dev-only exceptions hinge on it."""
    host = (host or "").strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ServerSettings(BaseSettings):
    """Core settings; a server subclasses this and sets `env_prefix="FLEET_<NAME>_"`."""

    model_config = SettingsConfigDict(env_prefix="FLEET_", extra="ignore", frozen=True)

    public_url: str = Field(
        default="",
        description="This server's resource URL as clients see it (e.g. https://mcp.example.com/mcp/db); "
        "identity audiences must equal it. Defaults to http://<host>:<port><path> in insecure-dev mode.",
    )
    host: str = Field(default="127.0.0.1", description="Bind address.")
    port: int = Field(default=8000, ge=0, le=65535, description="Bind port.")
    path: str = Field(default="/mcp", pattern=r"^/[A-Za-z0-9/_-]*$", description="Path of the MCP endpoint.")
    trust_mode: TrustMode = Field(default=TrustMode.GATEWAY_SECRET, description="How identity is proven.")
    gateway_secrets: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Accepted values of X-MCP-Gateway-Secret, comma-separated (several during rotation). "
        "Required in gateway-secret mode; in jwt mode, when set, checked as well (a second lock).",
    )
    issuer: str = Field(default="", description="Token issuer; required in jwt mode, checked when set.")
    jwks_url: str = Field(
        default="",
        description="Where to fetch the issuer's keys in jwt mode, instead of discovering them from the "
        "issuer URL (which an internal network may not reach; like the Kong plugin's jwks_uri).",
    )
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300, description="Clock skew allowed on exp/nbf.")
    jwks_refetch_seconds: float = Field(
        default=30.0, ge=0, description="Minimum time between JWKS refetches."
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest accepted request body.")
    max_concurrent_calls: int = Field(
        default=4,
        ge=1,
        le=1000,
        description="Requests one caller (subject) may have in flight at once; more are answered 429 "
        "at once, so one caller cannot take every backend connection.",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Extra Host header values accepted (e.g. the gateway's upstream name).",
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Extra Origin values accepted besides the public URL's origin."
    )
    log_level: str = Field(default="WARNING", description="Log level of the server's own loggers.")
    workers: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="Processes serving the one port (any of them answers any request; SIGTERM drains "
        "all). Unset: FLEET_SERVER_WORKERS (the container image sets `auto`, its CPU count), else 1. "
        "max_concurrent_calls then holds per process.",
    )
    fast_path: bool = Field(
        default=True,
        description="Serve plain stateless requests through the core's direct path to the SDK's handler "
        "(issue 18; same answers, less per-request overhead). false: every request takes the SDK's "
        "session manager.",
    )
    otel_spans: bool = Field(
        default=False, description="Keep the MCP SDK's OpenTelemetry span per message (for an OTel setup)."
    )
    user_map: UserMap = Field(
        default_factory=dict,
        description='Caller subject → backend account: JSON ({"user-123": "alice"}) or @/path/to/map.json.',
    )
    account_source: Literal["claim", "subject", "user_map"] | None = Field(
        default=None,
        description="Where a caller's backend account name comes from when user_map has no entry for "
        "their subject: `claim` (the token's account_claim; jwt mode only), `subject` (sub itself, for "
        "IdPs that put usernames there), or `user_map` (nowhere else: unmapped callers are refused). "
        "Default: claim in jwt mode, subject otherwise.",
    )
    account_claim: str = Field(
        default="extra_uid",
        min_length=1,
        description="The token claim holding the account name with account_source=claim "
        "(AuthGate: <JWT_PRIVATE_CLAIM_PREFIX>_uid, `extra_uid` by default).",
    )
    sentry_dsn: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("sentry_dsn", "SENTRY_DSN"),
        description="Report the server's own errors to Sentry (read from SENTRY_DSN).",
    )

    _split_lists = field_validator("gateway_secrets", "allowed_hosts", "allowed_origins", mode="before")(
        _split
    )

    @field_validator("public_url", "issuer", "jwks_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"{value!r} must be an absolute http(s) URL without query or fragment")
        if value.endswith("/"):
            raise ValueError(f"{value!r} must not end with '/' (RFC 9728 resource identifiers are exact)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ServerSettings:
        mode = self.trust_mode
        if mode is TrustMode.INSECURE_DEV:
            if not is_loopback(self.host):
                raise ValueError(
                    f"trust_mode=insecure-dev trusts identity headers without proof, so it only binds to "
                    f"loopback; refusing host={self.host!r}"
                )
            if not self.public_url:
                object.__setattr__(self, "public_url", f"http://{self.host}:{self.port}{self.path}")
        if not self.public_url:
            raise ValueError(
                "public_url is required (the resource URL clients use, e.g. <gateway>/mcp/<name>)"
            )
        secrets = [s.get_secret_value() for s in self.gateway_secrets]
        if mode is TrustMode.GATEWAY_SECRET and not secrets:
            raise ValueError("trust_mode=gateway-secret needs at least one gateway secret")
        if any(len(s) < 16 for s in secrets):
            raise ValueError("gateway secrets must be at least 16 characters")
        if mode is TrustMode.JWT and not self.issuer:
            raise ValueError("trust_mode=jwt needs issuer (the authorization server's issuer URL)")
        if self.account_source is None:
            object.__setattr__(self, "account_source", "claim" if mode is TrustMode.JWT else "subject")
        elif self.account_source == "claim" and mode is not TrustMode.JWT:
            raise ValueError(
                "account_source=claim reads the account name from the verified token, so it needs "
                "trust_mode=jwt (a gateway forwards only `sub`); use user_map or subject instead"
            )
        return self

    def account_for(self, subject: str, claims: Mapping[str, Any] | None = None) -> str | None:
        """The backend account `subject` acts as: its user_map entry, else per account_source the token
        claim (`claims`, jwt mode), the subject itself, or None (the tool then raises a clear ToolError
        and never uses the service account's power)."""
        if subject in self.user_map:
            return self.user_map[subject]
        if self.account_source == "subject":
            return clean_account(subject)
        if self.account_source == "claim" and claims is not None:
            return clean_account(claims.get(self.account_claim))
        return None

    def account_of(self, who: Identity, backend: str) -> str:
        """The caller's account name on `backend`, or a ToolError that says why there is none."""
        if who.account is not None:
            return who.account
        prefix = str(self.model_config.get("env_prefix", "FLEET_"))
        mapping = f"{prefix}USER_MAP has no entry for it"
        why = {
            "claim": f"the token carries no usable `{self.account_claim}` claim and {mapping}",
            "subject": "the subject is not a usable account name",
            "user_map": mapping,
        }[self.account_source or "user_map"]
        raise ToolError(
            f"{who.subject!r} has no {backend} account name: {why}. This server only acts as a named "
            f"account, never as its service account; an administrator can add the caller to {prefix}USER_MAP."
        )

    @property
    def public_origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def resource_metadata_url(self) -> str:
        """RFC 9728 §3.1: the well-known suffix is inserted between the origin and the resource path."""
        return prm_url(self.public_url)
