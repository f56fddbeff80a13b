"""Running the gateway on uvicorn, configured the way a front door must be."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import anyio
import uvicorn
from starlette.types import ASGIApp

__all__ = ["running_gateway", "uvicorn_config"]


def uvicorn_config(
    app: ASGIApp, *, host: str = "127.0.0.1", port: int, log_level: str = "warning"
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        # The gateway is the edge: a client's X-Forwarded-For must not become its address (G18's cousin).
        proxy_headers=False,
        # Access logs would carry query strings, and a query string may hold a token (S9).
        access_log=False,
        server_header=False,
        log_level=log_level,
    )


@contextlib.asynccontextmanager
async def running_gateway(app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve the gateway for the duration of the block; yields its base URL."""
    server = uvicorn.Server(uvicorn_config(app, host=host, port=port))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        with anyio.fail_after(10):
            while not server.started:
                if server.should_exit:
                    raise RuntimeError("the gateway failed to start")
                await anyio.sleep(0.005)
        bound = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://{host}:{bound}"
        finally:
            server.should_exit = True
