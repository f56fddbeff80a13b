"""`fleet-db`: serve the PostgreSQL MCP server (a throwaway embedded cluster when no database URL is set)."""

from __future__ import annotations

import contextlib
import logging
import secrets

from fleet_core import build_app, serve

from .pg import Database
from .server import build_server
from .settings import DbSettings

logger = logging.getLogger("fleet.db")


def main() -> None:
    settings = DbSettings()
    with contextlib.ExitStack() as stack:
        url = settings.database_url.get_secret_value() if settings.database_url else None
        if url is None:
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
        db = Database(settings, url)
        serve(build_app(build_server(settings, db), settings, ready=db.ready), settings)


if __name__ == "__main__":
    main()
