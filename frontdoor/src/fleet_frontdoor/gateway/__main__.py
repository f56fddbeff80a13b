"""`python -m fleet_frontdoor.gateway`: serve the dev gateway on the manifest's gateway origin.

Each server's gateway secret is read from $FLEET_GATEWAY_SECRET_<NAME> (never from a file or the command
line); $FLEET_GATEWAY_SECRET, if set, is the fallback for servers without their own.
`fleet dev` runs this as a subprocess; it is also handy on its own in front of running servers.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from fleet_core import die_with_parent

from ..manifest import ManifestError, find_manifest, load_manifest
from ..topology import gateway_secret_var
from ._app import build_gateway
from ._serve import uvicorn_config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fleet-gateway", description="mcp-fleet dev gateway")
    parser.add_argument("--manifest", type=Path, default=None, help="fleet.toml (default: nearest one)")
    parser.add_argument("--log-level", default="info", help="log level of the gateway's own decisions")
    args = parser.parse_args(argv)
    try:
        manifest = load_manifest(args.manifest or find_manifest())
    except ManifestError as exc:
        sys.exit(f"fleet-gateway: {exc}")
    fallback = os.environ.get("FLEET_GATEWAY_SECRET", "")
    secrets = {s.name: os.environ.get(gateway_secret_var(s), fallback) for s in manifest.enabled_servers}
    missing = [gateway_secret_var(s) for s in manifest.enabled_servers if not secrets[s.name]]
    if missing:
        sys.exit(f"fleet-gateway: set {', '.join(missing)} (the secret each server expects)")
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=args.log_level.upper(), format=fmt)
    origin = urlsplit(manifest.gateway.origin)
    app = build_gateway(manifest, secret=secrets)
    import uvicorn

    config = uvicorn_config(app, host=origin.hostname or "127.0.0.1", port=origin.port or 80)
    config.loop = "uvloop"
    die_with_parent()
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
