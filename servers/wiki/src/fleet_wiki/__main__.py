"""`fleet-wiki`: serve the MediaWiki MCP server over stateless Streamable HTTP (FLEET_WIKI_* settings).

`fleet-wiki --stdio` serves one local user over stdio instead: there is no front door, so the
identity is explicit — FLEET_WIKI_STDIO_USER (the name credited in edit summaries) and
FLEET_WIKI_STDIO_SCOPES (default "wiki:read"; add "wiki:write" to allow edits).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from fleet_core import Identity, build_app, run_stdio, serve

from .mediawiki import MediaWikiClient
from .server import build_server
from .settings import WikiSettings


def _client(settings: WikiSettings) -> MediaWikiClient:
    return MediaWikiClient(
        settings.url,
        settings.bot_username,
        settings.bot_password.get_secret_value(),
        timeout=settings.timeout_seconds,
        maxlag=settings.maxlag_seconds,
        max_retries=settings.max_retries,
    )


def _stdio() -> None:
    user = os.environ.get("FLEET_WIKI_STDIO_USER", "")
    if not user:
        sys.exit("fleet-wiki --stdio: set FLEET_WIKI_STDIO_USER (the name credited in edit summaries)")
    # No gateway in front of stdio: the HTTP trust settings don't apply, so don't demand them.
    settings = WikiSettings(trust_mode="insecure-dev", host="127.0.0.1")  # type: ignore[call-arg]
    who = Identity(
        subject=user,
        scopes=frozenset(os.environ.get("FLEET_WIKI_STDIO_SCOPES", "wiki:read").split()),
        issuer="local-stdio",
        audience=(),
        client_id=None,
        token_id=None,
        expires_at=datetime.now(UTC) + timedelta(days=3650),
    )
    run_stdio(build_server(settings, _client(settings)), who)


def main() -> None:
    try:
        if "--stdio" in sys.argv[1:]:
            _stdio()
            return
        settings = WikiSettings()  # type: ignore[call-arg]  # required fields come from the environment
    except ValidationError as exc:
        sys.exit(f"fleet-wiki: invalid settings (FLEET_WIKI_*):\n{exc}")
    backend = _client(settings)
    serve(build_app(build_server(settings, backend), settings, ready=backend.ping), settings)


if __name__ == "__main__":
    main()
