"""fleet_db: a PostgreSQL MCP server that acts as the caller (role + claims → row-level security)."""

from .backend import Database
from .server import build_server
from .settings import DbSettings

__all__ = ["Database", "DbSettings", "build_server"]
