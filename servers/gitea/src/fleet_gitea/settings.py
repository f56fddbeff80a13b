"""Settings for fleet-gitea (env prefix FLEET_GITEA_), validated at startup."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from fleet_core import BackendUrl, ServerSettings

__all__ = ["GiteaSettings"]


class GiteaSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="FLEET_GITEA_", extra="ignore", frozen=True)

    url: BackendUrl = Field(
        default="", description="Gitea base URL, e.g. https://gitea.example.com (no /api/v1)."
    )
    token: SecretStr = Field(
        default=SecretStr(""),
        description="Access token of a site-admin service account (scopes write:repository, write:issue, "
        "read:user, read:notification): Gitea honours `Sudo` only for admins.",
    )
    token_file: Path | None = Field(
        default=None,
        description="Read the token from this file when `token` is unset (the compose stack's gitea-init "
        "job writes it to a volume only it and this server mount).",
    )
    read_only: bool = Field(default=False, description="Register only the read tools.")
    timeout_seconds: float = Field(default=15.0, gt=0, le=120, description="Per-request timeout to Gitea.")
    read_retries: int = Field(
        default=2,
        ge=0,
        le=5,
        description="Retries of idempotent GETs on 429/500/502/503/504 (writes never retry).",
    )
    max_file_bytes: int = Field(default=65_536, ge=1024, description="Largest file content returned.")
    max_diff_bytes: int = Field(default=65_536, ge=1024, description="Largest PR diff returned.")
    max_log_lines: int = Field(default=200, ge=10, le=5000, description="Most job-log lines returned.")

    @model_validator(mode="after")
    def _token_from_file(self) -> GiteaSettings:
        if not self.token.get_secret_value() and self.token_file is not None:
            try:
                token = self.token_file.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(
                    f"cannot read token_file {self.token_file}: {exc.__class__.__name__}"
                ) from None
            object.__setattr__(self, "token", SecretStr(token))
        return self
