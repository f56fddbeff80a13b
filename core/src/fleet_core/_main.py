"""What every server's `main()` needs: settings or a readable exit, the explicit stdio caller, and
`server_main`, which puts them together so each server's `__main__` is a few lines:

    def _start(settings: NotesSettings, stack: contextlib.ExitStack) -> Started:
        backend = stack.enter_context(NotesClient(settings))  # or a plain object
        return build_server(settings, backend), backend.ping   # the MCPServer, and /readyz's check

    def main() -> None:
        server_main("notes", NotesSettings, _start, stdio_user="the notes account to act as")
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from mcp.server.mcpserver import MCPServer
from pydantic import ValidationError

from ._app import Ready, build_app, run_stdio
from ._identity import Identity
from ._serve import serve
from ._settings import ServerSettings, env_prefix

__all__ = ["Started", "server_main", "settings_or_exit", "stdio_caller"]

Started = tuple[MCPServer, Ready | None]  # the server, and what /readyz awaits (None: always ready)

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


def server_main(
    name: str,
    settings_class: type[S],
    start: Callable[[S, contextlib.ExitStack], Started],
    *,
    stdio_user: str,
    argv: Sequence[str] | None = None,
) -> None:
    """`fleet-<name>`: stateless Streamable HTTP behind the front door, or with `--stdio` one local user
    named by FLEET_<NAME>_STDIO_USER (`stdio_user` says what that name means to the backend).

    `start` builds the backend and the server; what it enters on `stack` (an embedded database, a client)
    is closed when serving ends. On stdio the caller is checked before anything is started."""
    program = f"fleet-{name}"
    if "--stdio" in (sys.argv[1:] if argv is None else argv):
        # No gateway in front of stdio: the HTTP trust settings don't apply, so don't demand them.
        settings = settings_or_exit(lambda: settings_class(trust_mode="insecure-dev"), program)
        who = stdio_caller(name, who=stdio_user)
        with contextlib.ExitStack() as stack:
            mcp, _ = start(settings, stack)
            run_stdio(mcp, who)
        return
    settings = settings_or_exit(settings_class, program)
    with contextlib.ExitStack() as stack:
        mcp, ready = start(settings, stack)
        serve(build_app(mcp, settings, ready=ready), settings)
