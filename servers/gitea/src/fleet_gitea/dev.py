"""`fleet dev` hook: the Gitea backend for local runs.

With FLEET_GITEA_URL and FLEET_GITEA_TOKEN set, the real Gitea is used and nothing is started.
Otherwise this serves the project's spec-checked FAKE Gitea (fake/) on a loopback port as a clearly
labelled demo backend: seeded users alice/bob/carol, repos alice/demo (public), alice/notes (private),
bob/tools. It is not a Gitea; nothing written to it survives the run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
import secrets
from collections.abc import AsyncIterator

from .fake import FakeGitea, serve_fake

__all__ = ["backend"]

logger = logging.getLogger("fleet.gitea.dev")


@contextlib.asynccontextmanager
async def backend(workdir: pathlib.Path) -> AsyncIterator[dict[str, str]]:
    url, token = os.environ.get("FLEET_GITEA_URL"), os.environ.get("FLEET_GITEA_TOKEN")
    if url and token:
        yield {"FLEET_GITEA_URL": url, "FLEET_GITEA_TOKEN": token}
        return
    fake = FakeGitea(token=secrets.token_urlsafe(24))
    async with serve_fake(fake) as fake_url:
        logger.warning(
            "gitea: no FLEET_GITEA_URL/FLEET_GITEA_TOKEN configured; serving the DEMO fake Gitea at %s "
            "(in-memory, spec-checked, seeded with alice/bob/carol) — not a real Gitea",
            fake_url,
        )
        yield {"FLEET_GITEA_URL": fake_url, "FLEET_GITEA_TOKEN": fake.token}
