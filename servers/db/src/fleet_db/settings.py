"""Settings for fleet-db (env prefix FLEET_DB_), validated at startup."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from fleet_core import ServerSettings

__all__ = ["DbSettings"]


class DbSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="FLEET_DB_", extra="ignore", frozen=True)

    port: int = Field(default=8710, ge=0, le=65535, description="Bind port.")
    database_url: SecretStr | None = Field(
        default=None,
        description="libpq URL of the NOINHERIT login role. Unset: start a throwaway embedded cluster "
        "with the demo schema.",
    )
    roles: dict[str, str] = Field(
        default_factory=lambda: {"db:write": "fleet_writer", "db:read": "fleet_reader"},
        description="Scope → database role for SET LOCAL ROLE (JSON); the first scope the caller holds wins.",
    )
    pool_min_size: int = Field(default=1, ge=0, le=100, description="Connections kept open.")
    pool_max_size: int = Field(default=10, ge=1, le=200, description="Most connections open at once.")
    pool_timeout_seconds: float = Field(default=10, gt=0, description="Longest wait for a free connection.")
    connect_timeout_seconds: int = Field(default=5, ge=1, le=120, description="TCP/auth connect timeout.")
    statement_timeout_ms: int = Field(default=5000, ge=100, description="statement_timeout of read tools.")
    write_timeout_ms: int = Field(
        default=10000, ge=100, description="statement_timeout/lock_timeout of writes."
    )
    idle_in_transaction_timeout_ms: int = Field(
        default=15000, ge=1000, description="idle_in_transaction_session_timeout inside a call."
    )
    max_rows: int = Field(
        default=1000, ge=1, le=1_000_000, description="Row cap per result (then truncated)."
    )
    max_bytes: int = Field(
        default=1_000_000,
        ge=1024,
        description="Cap on the UTF-8 bytes of a result's rows as compact JSON (then truncated at the last "
        "whole row that fits).",
    )

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("roles must map at least one scope to a database role")
        for scope, role in value.items():
            if not scope.startswith("db:") or not role or len(role) > 63:
                raise ValueError(f"bad role mapping {scope!r} -> {role!r}")
        return value
