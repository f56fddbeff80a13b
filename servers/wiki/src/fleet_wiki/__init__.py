"""fleet_wiki: a MediaWiki MCP server — read, search and edit the internal wiki as the caller."""

from .backend import MediaWikiClient, WikiApiError
from .server import build_server
from .settings import WikiSettings

__all__ = ["MediaWikiClient", "WikiApiError", "WikiSettings", "build_server"]
