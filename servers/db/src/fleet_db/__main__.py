"""`fleet-db`: serve the PostgreSQL MCP server over stateless Streamable HTTP (FLEET_DB_* settings).

Without FLEET_DB_DATABASE_URL it starts a throwaway embedded PostgreSQL with the demo schema (and says so).
`fleet-db --stdio` serves one local user over stdio instead: there is no front door, so the identity is
explicit — FLEET_DB_STDIO_USER (the subject RLS sees) and FLEET_DB_STDIO_SCOPES (default "db:read";
add "db:write" to allow execute_statement).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import secrets

from fleet_core import Started, server_main

from .backend import Database
from .server import build_server
from .settings import DbSettings

logger = logging.getLogger("fleet.db")


def _database_url(settings: DbSettings, stack: contextlib.ExitStack) -> str:
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    from .embedded import EmbeddedPostgres, EmbeddedUnavailable
    from .provision import provision

    try:
        pg = stack.enter_context(EmbeddedPostgres())
    except EmbeddedUnavailable as exc:
        raise SystemExit(f"fleet-db: FLEET_DB_DATABASE_URL is not set and {exc}") from exc
    url = provision(pg.admin_url, password=secrets.token_urlsafe(24))
    logging.basicConfig(level=settings.log_level)
    logger.warning(
        "FLEET_DB_DATABASE_URL is not set: serving a THROWAWAY embedded PostgreSQL on 127.0.0.1:%d "
        "with the demo schema; it is deleted on exit",
        pg.port,
    )
    return url


# glibc serves an allocation above its (dynamic) mmap threshold with fresh pages and trims the heap's free
# top beyond twice that: a 10,000-row read (~1 MB of JSON, ~6 MB of short-lived buffers: the rows' JSON,
# the text content, the response) faulted in ~1,600 new pages on every call, a fifth of its CPU time
# (issue 18). Buffers up to 32 MB come from the heap, and up to 32 MB of freed heap stays for the next
# call; larger values (finding 12.4) are still mapped and returned at once.
KEEP_FREED_HEAP = 32 * 1024 * 1024
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def reuse_freed_memory() -> bool:
    """Set glibc's malloc thresholds (above); False where there is no glibc (musl, macOS)."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own libc
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, KEEP_FREED_HEAP) and mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_HEAP))


# CPython's cycle collector runs its youngest generation once 700 more containers (tuples, lists, dicts)
# are alive than at its last run. A 10,000-row read holds ~25,000 at once (a tuple per row from psycopg,
# a list per row in the SDK's dump of the result, ...), so each such call ran the collector ~20 times,
# promoted the call's own rows into the older generations and set off a full collection every few calls:
# ~1 ms of its CPU (issue 18; A/B with /proc CPU times). Those containers are freed by reference counting
# as soon as the call ends; a threshold above what one large call holds lets them die young, unscanned.
# Cyclic garbage is still collected, after 50,000 net new containers instead of 700 (a few MB at most).
YOUNG_GENERATION_THRESHOLD = 50_000


def collect_cycles_less_often() -> None:
    """Raise the cycle collector's youngest-generation threshold (above); the older ones keep theirs."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, older, oldest)


def _start(settings: DbSettings, stack: contextlib.ExitStack) -> Started:
    reuse_freed_memory()
    collect_cycles_less_often()
    db = Database(settings, _database_url(settings, stack))
    return build_server(settings, db), db.ready


def main() -> None:
    server_main("db", DbSettings, _start, stdio_user="the subject row-level security sees")


if __name__ == "__main__":
    main()
