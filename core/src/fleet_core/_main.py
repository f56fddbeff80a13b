"""What every server's `main()` needs: settings or a readable exit, and the explicit stdio caller."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from pydantic import ValidationError

from ._identity import Identity
from ._settings import ServerSettings, env_prefix

__all__ = ["settings_or_exit", "stdio_caller"]

S = TypeVar("S", bound=ServerSettings)


def settings_or_exit(load: Callable[[], S], program: str) -> S:
    """Load settings; on a validation error exit with the problems listed (no traceback)."""
    try:
        return load()
    except ValidationError as exc:
        problems = "\n".join(
            f"  {'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        sys.exit(f"{program}: invalid settings:\n{problems}")


def stdio_caller(server: str, *, who: str) -> Identity:
    """The one local user a stdio server acts as, named explicitly in the environment:
    FLEET_<SERVER>_STDIO_USER (`who` says what it means) and FLEET_<SERVER>_STDIO_SCOPES
    (default "<server>:read"; add "<server>:write" to allow changes)."""
    prefix = env_prefix(server) + "STDIO_"
    user = os.environ.get(prefix + "USER", "").strip()
    if not user:
        sys.exit(f"fleet-{server} --stdio: set {prefix}USER ({who})")
    return Identity(
        subject=user,
        scopes=frozenset(os.environ.get(prefix + "SCOPES", f"{server}:read").split()),
        issuer="local-stdio",
        audience=(),
        client_id=None,
        token_id=None,
        expires_at=datetime.now(UTC) + timedelta(days=3650),
        account=user,
    )
