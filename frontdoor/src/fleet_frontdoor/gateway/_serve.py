"""Running the gateway on uvicorn, configured the way a front door must be."""

from __future__ import annotations

import contextlib
import socket
from typing import TypedDict

import uvicorn
from starlette.types import ASGIApp

from fleet_core import running_app
from fleet_core.http import BoundedHttpToolsProtocol

__all__ = ["running_gateway", "uvicorn_config"]


# The gateway is the edge: a client's X-Forwarded-For must not become its address (G18's cousin), and
# access logs would carry query strings, which may hold a token (S9).
class EdgeOptions(TypedDict):
    proxy_headers: bool
    access_log: bool
    server_header: bool


EDGE: EdgeOptions = {"proxy_headers": False, "access_log": False, "server_header": False}


def uvicorn_config(
    app: ASGIApp, *, host: str = "127.0.0.1", port: int, log_level: str = "warning"
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_level=log_level,
        http=BoundedHttpToolsProtocol,  # httptools with a request-head cap (finding 12.5)
        **EDGE,
    )


def running_gateway(
    app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, sock: socket.socket | None = None
) -> contextlib.AbstractAsyncContextManager[str]:
    """Serve the gateway for the duration of the block; yields its base URL. Pass `sock` (a socket
    bound in advance, fleet_core.bind_loopback) to know the URL before the gateway is built."""
    return running_app(app, host=host, port=port, sock=sock, **EDGE)
