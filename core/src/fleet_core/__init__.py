"""fleet_core: who is calling, and may they do this? — answered once, for every server."""

from ._accounts import UserMap, dev_subject
from ._app import WhoAmI, build_app, caller, create_server, run_stdio
from ._errors import BackendError, DevBackendUnavailable, ToolError
from ._identity import Identity, IdentityError, claim_headers
from ._main import Started, server_main, settings_or_exit, stdio_caller
from ._netbackend import AsyncioBackend, backend_transport
from ._outage import OutageTransport
from ._reaper import Reaper, pid_alive
from ._retry import Retries, RetryPolicy, retry_after_seconds
from ._scopes import DESTRUCTIVE, READ_ONLY, WRITE, requires
from ._serve import bind_loopback, default_workers, die_with_parent, free_port, running_app, serve
from ._settings import BackendUrl, ServerSettings, TrustMode, env_prefix, is_loopback, package_name

__all__ = [
    "DESTRUCTIVE",
    "READ_ONLY",
    "WRITE",
    "AsyncioBackend",
    "BackendError",
    "BackendUrl",
    "DevBackendUnavailable",
    "Identity",
    "IdentityError",
    "OutageTransport",
    "Reaper",
    "Retries",
    "RetryPolicy",
    "ServerSettings",
    "Started",
    "ToolError",
    "TrustMode",
    "UserMap",
    "WhoAmI",
    "backend_transport",
    "bind_loopback",
    "build_app",
    "caller",
    "claim_headers",
    "create_server",
    "default_workers",
    "dev_subject",
    "die_with_parent",
    "env_prefix",
    "free_port",
    "is_loopback",
    "package_name",
    "pid_alive",
    "requires",
    "retry_after_seconds",
    "run_stdio",
    "running_app",
    "serve",
    "server_main",
    "settings_or_exit",
    "stdio_caller",
]
