"""`fleet dev` hook: a real Sentry when configured, otherwise the labelled FAKE Sentry as a demo backend."""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
from collections.abc import AsyncIterator

from .fake import FAKE_TOKEN, FakeSentry, serve_fake

logger = logging.getLogger("fleet.sentry.dev")


@contextlib.asynccontextmanager
async def backend(workdir: pathlib.Path) -> AsyncIterator[dict[str, str]]:
    """Yield the env the server needs. With FLEET_SENTRY_AUTH_TOKEN set, use the configured Sentry as is."""
    if os.environ.get("FLEET_SENTRY_AUTH_TOKEN"):
        yield {}
        return
    fake = FakeSentry(org="acme")
    async with serve_fake(fake) as url:
        logger.warning(
            "sentry: no FLEET_SENTRY_AUTH_TOKEN configured — serving the FAKE Sentry demo backend at %s "
            "(spec-shaped sample data, org 'acme'; nothing here is a real Sentry)",
            url,
        )
        yield {
            "FLEET_SENTRY_BASE_URL": url,
            "FLEET_SENTRY_AUTH_TOKEN": FAKE_TOKEN,
            "FLEET_SENTRY_ORG": "acme",
            "FLEET_SENTRY_USER_EMAIL_DOMAIN": "example.com",
        }
