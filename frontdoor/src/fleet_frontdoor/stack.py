"""`fleet stack init`: the compose stack's `.env` with fresh secrets and AuthGate's signing key.

Every variable of `.env.example` that is a secret the stack makes for itself gets a fresh random value
(hex: safe unquoted in `.env`, in a libpq key=value DSN and in a header); what only the operator can give
(the AuthGate release, Sentry's org and token, a Gitea token made by hand) stays empty, and the command
says which. `.env` is written 0600; an existing one is never overwritten without `--force`.

`.secrets/authgate-clients/` (0700) is made for the `authgate-init` job, which writes the ids AuthGate
generates for the clients of fleet.toml and the confidential clients' secrets there.

The RS256 key goes to `.secrets/authgate-jwt.pem`: the directory 0700 (it protects the key on the host),
the file 0644, because compose bind-mounts a file secret as it is (no uid/mode applied) and AuthGate runs
as uid 1000, which is rarely the operator's (finding F3).
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .compose import AUTHGATE_CLIENTS_DIR, backends, render_env_example
from .manifest import Manifest

__all__ = ["GENERATED_SECRETS", "KEY_FILE", "InitResult", "StackInitError", "init_stack"]

KEY_FILE = ".secrets/authgate-jwt.pem"
# the front door's variables of `.env.example` that the stack's own secrets fill; each server's deploy hook
# names its own (Backend.generated_secrets); everything else is the operator's
GENERATED_SECRETS = re.compile(
    r"^(FLEET_GATEWAY_SECRET_[A-Z0-9_]+|AUTHGATE_(JWT_SECRET|SESSION_SECRET|ADMIN_PASSWORD|DB_PASSWORD))$"
)


class StackInitError(Exception):
    """Why `fleet stack init` wrote nothing."""


@dataclass(frozen=True)
class InitResult:
    env_file: Path
    key_file: Path
    generated: tuple[str, ...]  # variable names given a fresh value (never the values)
    to_fill: tuple[str, ...]  # required variables left for the operator


def _key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def init_stack(manifest: Manifest, root: Path, *, force: bool = False) -> InitResult:
    """Write `root/.env` and `root/.secrets/authgate-jwt.pem` (see the module docstring)."""
    env_file, key_file = root / ".env", root / KEY_FILE
    if env_file.exists() and not force:
        raise StackInitError(f"{env_file} exists; keep it, or pass --force to replace every secret in it")
    lines, generated, to_fill = [], [], []
    servers_own = {name for backend in backends(manifest).values() for name in backend.generated_secrets}
    for line in render_env_example(manifest).splitlines():
        name, eq, value = line.partition("=")
        if line.startswith("#") or not eq:
            lines.append(line)
        elif GENERATED_SECRETS.match(name) or name in servers_own:
            lines.append(f"{name}={secrets.token_hex(32)}")
            generated.append(name)
        elif name == "AUTHGATE_JWT_KEY_FILE":
            lines.append(f"{name}=./{KEY_FILE}")
        else:
            lines.append(line)
            if not value:
                to_fill.append(name)
    key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_file.parent.chmod(0o700)
    # authgate-init writes the generated client ids and secrets here (bind-mounted); made now, as the
    # operator, so the files end up the operator's (a directory docker creates would be root's)
    clients_dir = root / AUTHGATE_CLIENTS_DIR
    clients_dir.mkdir(mode=0o700, exist_ok=True)
    clients_dir.chmod(0o700)
    _write(key_file, _key_pem(), 0o644)
    _write(env_file, ("\n".join(lines) + "\n").encode(), 0o600)
    return InitResult(env_file, key_file, tuple(generated), tuple(to_fill))


def _write(path: Path, data: bytes, mode: int) -> None:
    """Create with `mode` from the start (no window with a wider one), replacing atomically."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, mode)  # the umask may have narrowed it
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
