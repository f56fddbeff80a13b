"""Run fleet_client for one MCP conformance client scenario.

The suite runs `<command> <server-url>` with MCP_CONFORMANCE_SCENARIO (and, for some scenarios,
MCP_CONFORMANCE_CONTEXT: JSON with pre-registered credentials). This adapter uses the client's
real code paths — FleetClient, the loopback redirect listener, the SSRF guard, file token storage
in a throwaway directory — and plays the user's browser: it follows the test authorization
server's redirect to the loopback listener, as a browser with an approving user would.

Exit status: 0 when the client completed its work, 1 with the client's message otherwise.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
import httpx2

from fleet_client import FleetClient
from fleet_client.config import ClientConfig, ClientCredentials, ServerEntry
from fleet_client.errors import explain

# The CIMD URL the suite's basic-cimd scenario expects as client_id. It is only used when the
# authorization server advertises client_id_metadata_document_supported (else DCR).
CIMD_URL = "https://conformance-test.local/client-metadata.json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def browser(url: str) -> None:
    async with httpx2.AsyncClient(follow_redirects=True, timeout=10) as http:
        await http.get(url)


def build(
    url: str, scenario: str, context: dict[str, Any], state_dir: Path
) -> tuple[ClientConfig, dict[str, str]]:
    fields: dict[str, Any] = {
        "gateway": url,
        "servers": (ServerEntry(name="target", url=url),),
        "client_id": None,
        "client_metadata_url": CIMD_URL,
        "state_dir": state_dir,
        "protocol": os.environ.get("FLEET_CLIENT_PROTOCOL", "auto"),
        # Scenarios run in parallel: a free port each instead of the CIMD document's fixed one.
        "redirect_port": free_port(),
    }
    env: dict[str, str] = {}
    if scenario.startswith("auth/client-credentials"):
        fields["client_credentials"] = ClientCredentials(client_id=context["client_id"])
        env["FLEET_CLIENT_CC_SECRET"] = context.get("client_secret", "")
    elif "client_id" in context:  # pre-registered client (auth/pre-registration)
        fields["client_id"] = context["client_id"]
        fields["client_secret"] = context.get("client_secret")
        fields["token_endpoint_auth_method"] = (
            "client_secret_basic" if context.get("client_secret") else "none"
        )
    return ClientConfig(**fields), env


async def run(url: str, scenario: str, context: dict[str, Any], state_dir: Path) -> None:
    config, env = build(url, scenario, context, state_dir)
    fleet = FleetClient(config, opener=browser, env=env)
    client_credentials = config.client_credentials is not None
    with anyio.fail_after(25):
        async with fleet.connect("target", client_credentials=client_credentials) as client:
            tools = (await client.list_tools()).tools
            for tool in tools:
                arguments = {"a": 5, "b": 3} if tool.name == "add_numbers" else {}
                result = await client.call_tool(tool.name, arguments)
                print(f"{tool.name}: is_error={result.is_error}")


def main() -> int:
    url = sys.argv[-1]
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT", "{}"))
    with tempfile.TemporaryDirectory(prefix="fleet-client-conformance-") as state:
        try:
            anyio.run(run, url, scenario, context, Path(state))
        except Exception as exc:
            print(f"fleet-client: {explain(exc) or repr(exc)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
