"""Settings of the Sentry server (env prefix FLEET_SENTRY_; SENTRY_DSN stays the fleet's own reporting)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from fleet_core import BackendUrl, ServerSettings

__all__ = ["SentrySettings"]


class SentrySettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="FLEET_SENTRY_", extra="ignore", frozen=True)

    base_url: BackendUrl = Field(
        default="https://sentry.io",
        description="Sentry API origin: https://sentry.io, a region (https://de.sentry.io) or self-hosted.",
    )
    ui_url: BackendUrl = Field(
        default="", description="Origin for links shown to humans; defaults to base_url."
    )
    auth_token: SecretStr = Field(
        default=SecretStr(""), description="Organization-owned token (internal integration); see README."
    )
    org: str = Field(default="", description="Default organization slug.")
    timeout_seconds: float = Field(default=15.0, gt=0, le=120, description="Per-request timeout.")
    max_retries: int = Field(default=2, ge=0, le=5, description="Retries for reads (5xx, timeouts) and 429s.")
    max_retry_after_seconds: float = Field(
        default=10.0,
        ge=0,
        le=60,
        description="Longest 429 Retry-After the server waits out before giving up.",
    )
    retry_backoff_seconds: float = Field(
        default=0.25, ge=0, le=10, description="Base backoff between retries."
    )
    user_email_domain: str = Field(
        default="",
        description="If set, a subject not in user_map (with unmapped_users=identity) is <subject>@<domain>.",
    )

    @property
    def links_origin(self) -> str:
        return self.ui_url or self.base_url
