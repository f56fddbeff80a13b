"""Fixtures for fleet-db: one real PostgreSQL per test session (embedded, or FLEET_DB_TEST_ADMIN_URL)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import psycopg
import pytest

from fleet_core.testing import settings_for
from fleet_db.backend import Database
from fleet_db.embedded import EmbeddedPostgres
from fleet_db.provision import provision, seed_demo
from fleet_db.settings import DbSettings

TEST_DB = "fleet_test"


@pytest.fixture(scope="session")
def admin_url() -> Iterator[str]:
    """A superuser URL: FLEET_DB_TEST_ADMIN_URL (an existing server) or a throwaway embedded cluster."""
    external = os.environ.get("FLEET_DB_TEST_ADMIN_URL")
    if external:
        yield external
        return
    with EmbeddedPostgres() as pg:
        yield pg.admin_url


@pytest.fixture(scope="session")
def db_url(admin_url: str) -> str:
    """The NOINHERIT login role's URL on a freshly provisioned test database."""
    return provision(admin_url, dbname=TEST_DB, password=secrets.token_urlsafe(16))


@pytest.fixture
def admin(admin_url: str, db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A superuser connection to the test database, with the demo rows freshly seeded."""
    with psycopg.connect(psycopg.conninfo.make_conninfo(admin_url, dbname=TEST_DB), autocommit=True) as conn:
        seed_demo(conn)
        yield conn


def make_settings(**overrides: Any) -> DbSettings:
    values: dict[str, Any] = {"statement_timeout_ms": 1500, "write_timeout_ms": 1500, "pool_max_size": 4}
    values.update(overrides)
    return settings_for(DbSettings, name="db", **values)


@pytest.fixture(name="make_settings")
def make_settings_fixture() -> Callable[..., DbSettings]:
    return make_settings


@pytest.fixture
def settings() -> DbSettings:
    return make_settings()


@pytest.fixture
async def database(settings: DbSettings, db_url: str) -> AsyncIterator[Database]:
    db = Database(settings, db_url)
    await db.open()
    try:
        yield db
    finally:
        await db.close()
