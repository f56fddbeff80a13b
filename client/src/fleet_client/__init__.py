"""fleet_client: a small MCP client for the fleet's OAuth front door (PKCE, CIMD, device flow)."""

from .config import ClientConfig, ServerEntry, load_config
from .errors import ConfigError, DeviceFlowError, FleetClientError, LoginError, UnsafeURLError

__version__ = "0.1.0"

from .session import FleetClient

__all__ = [
    "ClientConfig",
    "ConfigError",
    "DeviceFlowError",
    "FleetClient",
    "FleetClientError",
    "LoginError",
    "ServerEntry",
    "UnsafeURLError",
    "__version__",
    "load_config",
]
