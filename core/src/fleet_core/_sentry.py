"""Report the server's own errors to Sentry when SENTRY_DSN is set: no tokens, no raw arguments."""

from __future__ import annotations

import sentry_sdk
from sentry_sdk.integrations.mcp import MCPIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

__all__ = ["init_sentry"]


def init_sentry(dsn: str, *, server: str) -> None:
    sentry_sdk.init(
        dsn=dsn,
        server_name=f"fleet-{server}",
        integrations=[MCPIntegration()],
        send_default_pii=False,  # no headers, bodies or tool arguments leave the process
        event_scrubber=EventScrubber(
            denylist=[
                *DEFAULT_DENYLIST,
                "x-mcp-gateway-secret",
                "gateway_secrets",
                "access_token",
                "refresh_token",
            ]
        ),
        traces_sample_rate=0.0,
    )
    sentry_sdk.set_tag("fleet.server", server)
