"""fleet_gitea: Gitea for MCP clients, acting as the caller through the `Sudo` header."""

from .backend import GiteaClient
from .server import build_server
from .settings import GiteaSettings

__all__ = ["GiteaClient", "GiteaSettings", "build_server"]
