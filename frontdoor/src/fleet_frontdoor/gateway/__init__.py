"""The dev gateway: the kong-mcp-oauth2 plugin's wire contract as a plain ASGI app."""

from ._app import GATEWAY_SECRET_HEADER, build_gateway
from ._claims import ClaimError, forwarded_headers
from ._serve import running_gateway, uvicorn_config

__all__ = [
    "GATEWAY_SECRET_HEADER",
    "ClaimError",
    "build_gateway",
    "forwarded_headers",
    "running_gateway",
    "uvicorn_config",
]
