"""Token storage: one file per (issuer, resource), readable only by the user (C16, C12, SEP-2352).

Layout under the state dir (`~/.config/fleet-client`, XDG_CONFIG_HOME aware)::

    tokens/<sha256(resource)[:24]>/<sha256(issuer)[:24]>.json     mode 0600, dirs 0700

A token is looked up by the resource it was issued for *and* the authorization server that
issued it, so a gitea token can never be picked for /mcp/sentry, and when a resource's PRM
starts naming another authorization server the old tokens are simply not found.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

__all__ = ["FileTokenStorage", "StoredGrant", "forget", "stored_grants"]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:24]


def _tokens_root(state_dir: Path) -> Path:
    return state_dir / "tokens"


def _write_private(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for folder in (path.parent, path.parent.parent):
        os.chmod(folder, 0o700)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class StoredGrant:
    resource: str
    issuer: str
    scope: str | None
    expires_at: float | None
    has_refresh_token: bool
    client_id: str | None
    path: Path


class FileTokenStorage:
    """The SDK's `TokenStorage` protocol over per-(issuer, resource) files.

    The issuer is not known until discovery has run, so it is bound later (`bind_issuer`);
    before that nothing is read or written. `preregistered` is the configured client, used
    when this issuer has no registration stored (priority: pre-registered -> CIMD -> DCR).
    """

    def __init__(
        self,
        state_dir: Path,
        resource: str,
        *,
        issuer: str | None = None,
        preregistered: OAuthClientInformationFull | None = None,
    ):
        self.state_dir = state_dir
        self.resource = resource
        self.issuer = issuer
        self.preregistered = preregistered

    @property
    def resource_dir(self) -> Path:
        return _tokens_root(self.state_dir) / _digest(self.resource)

    @property
    def path(self) -> Path | None:
        return None if self.issuer is None else self.resource_dir / f"{_digest(self.issuer)}.json"

    def bind_issuer(self, issuer: str) -> None:
        self.issuer = issuer

    def has_any_grant(self) -> bool:
        return self.resource_dir.is_dir() and any(self.resource_dir.glob("*.json"))

    def _load(self) -> dict[str, Any]:
        path = self.path
        if path is None:
            return {}
        data = _read(path)
        # Defence in depth: the file must say it is for this resource and issuer.
        if data.get("resource") != self.resource or data.get("issuer") != self.issuer:
            return {}
        return data

    def _update(self, **fields: Any) -> None:
        path = self.path
        if path is None:
            raise RuntimeError("token storage used before the authorization server was known")
        data = self._load() or {"resource": self.resource, "issuer": self.issuer}
        data.update(fields)
        _write_private(path, data)

    def grant_flow(self) -> str | None:
        """How the stored grant was obtained ("device", "browser"); None if not recorded."""
        value = self._load().get("flow")
        return value if isinstance(value, str) else None

    def set_grant_flow(self, flow: str) -> None:
        self._update(flow=flow)

    def expires_at(self) -> float | None:
        value = self._load().get("expires_at")
        return float(value) if isinstance(value, int | float) else None

    async def get_tokens(self) -> OAuthToken | None:
        raw = self._load().get("tokens")
        return OAuthToken.model_validate(raw) if raw else None

    async def set_tokens(self, tokens: OAuthToken) -> None:
        expires_at = time.time() + tokens.expires_in if tokens.expires_in else None
        self._update(tokens=tokens.model_dump(mode="json", exclude_none=True), expires_at=expires_at)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        raw = self._load().get("client_info")
        if raw:
            return OAuthClientInformationFull.model_validate(raw)
        return self.preregistered

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self._update(client_info=client_info.model_dump(mode="json", exclude_none=True))

    def clear(self) -> None:
        path = self.path
        if path is not None:
            path.unlink(missing_ok=True)


def stored_grants(state_dir: Path) -> list[StoredGrant]:
    grants = []
    for path in sorted(_tokens_root(state_dir).glob("*/*.json")):
        data = _read(path)
        tokens = data.get("tokens") or {}
        if not data.get("resource") or not tokens:
            continue
        grants.append(
            StoredGrant(
                resource=data["resource"],
                issuer=data.get("issuer", ""),
                scope=tokens.get("scope"),
                expires_at=data.get("expires_at"),
                has_refresh_token=bool(tokens.get("refresh_token")),
                client_id=(data.get("client_info") or {}).get("client_id"),
                path=path,
            )
        )
    return grants


def forget(state_dir: Path, resource: str | None = None) -> int:
    """Delete stored grants (all, or one resource's). Returns how many files were removed."""
    root = _tokens_root(state_dir)
    folders = [root / _digest(resource)] if resource else [p for p in root.glob("*") if p.is_dir()]
    removed = 0
    for folder in folders:
        for path in folder.glob("*.json"):
            path.unlink(missing_ok=True)
            removed += 1
        with contextlib.suppress(OSError):
            folder.rmdir()
    return removed
