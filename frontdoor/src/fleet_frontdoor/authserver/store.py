"""SQLite state of the dev authorization server: a restart keeps keys, sessions and grants.

One small table per concept; every row that expires carries an absolute `expires` (epoch seconds).
Calls are short and local, so they run inline; one lock serialises writers across threads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    kid TEXT PRIMARY KEY, pem TEXT NOT NULL, created REAL NOT NULL, retired INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS browsers (
    id TEXT PRIMARY KEY, csrf TEXT NOT NULL, user TEXT, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
    id TEXT PRIMARY KEY, browser TEXT NOT NULL, data TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS codes (
    code_hash TEXT PRIMARY KEY, data TEXT NOT NULL, expires REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0,
    family TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refresh (
    jti TEXT PRIMARY KEY, family TEXT NOT NULL, used INTEGER NOT NULL DEFAULT 0, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS families (
    id TEXT PRIMARY KEY, revoked INTEGER NOT NULL DEFAULT 0, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS access (
    jti TEXT PRIMARY KEY, family TEXT, revoked INTEGER NOT NULL DEFAULT 0, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
    device_hash TEXT PRIMARY KEY, user_code TEXT UNIQUE NOT NULL, data TEXT NOT NULL, expires REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', user TEXT, interval REAL NOT NULL, last_poll REAL);
"""


class Store:
    """Thin typed access to the SQLite file `<state_dir>/authserver.sqlite3`."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / "authserver.sqlite3"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self.path.chmod(0o600)  # holds private keys

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def run(self, sql: str, *args: Any) -> int:
        with self._lock:
            return self._db.execute(sql, args).rowcount

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, args).fetchone()
            return row

    def all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def purge(self, now: float) -> None:
        """Drop expired rows (keys never expire here; they are retired explicitly)."""
        with self._lock:
            for table in ("browsers", "pending", "codes", "refresh", "families", "access", "devices"):
                self._db.execute(f"DELETE FROM {table} WHERE expires < ?", (now - 3600,))  # noqa: S608


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def loads(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)  # only ever what dumps() wrote
    return data
