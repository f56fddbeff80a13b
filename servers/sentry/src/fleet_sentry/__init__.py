"""fleet-sentry: Sentry triage over MCP — find, understand and act on errors, attributed to the caller."""

from .server import build_server
from .settings import SentrySettings

__all__ = ["SentrySettings", "build_server"]
