"""Settings of the wiki server (env prefix FLEET_WIKI_), validated at startup."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from fleet_core import BackendUrl, ServerSettings

__all__ = ["WikiSettings"]


class WikiSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="FLEET_WIKI_")

    url: BackendUrl = Field(
        description="Where the wiki's api.php and rest.php live ($wgServer + $wgScriptPath)."
    )
    bot_username: str = Field(description="BotPassword login name, 'User@appid'.")
    bot_password: SecretStr = Field(description="The BotPassword's generated password.")
    read_only: bool = Field(default=False, description="Register only the read tools.")
    change_tag: str = Field(
        default="fleet-mcp", pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Change tag on every edit."
    )
    max_output_bytes: int = Field(
        default=50_000, ge=1_000, le=1_000_000, description="Byte cap of any text a tool returns."
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="Timeout of each wiki request.")
    maxlag_seconds: int = Field(
        default=5, ge=0, le=60, description="maxlag sent with every request (0 = off)."
    )
    max_retries: int = Field(
        default=2, ge=0, le=5, description="Retries after maxlag / 429 / 503 (Retry-After)."
    )
