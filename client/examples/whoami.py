"""Call one tool on one fleet server: the smallest program built on fleet_client."""

import sys

import anyio

from fleet_client import FleetClient, load_config


async def main(server: str) -> None:
    async with FleetClient(load_config()).connect(server) as client:  # an mcp.Client, signed in on demand
        result = await client.call_tool("whoami", {})
        print(result.structured_content)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1] if len(sys.argv) > 1 else "db")
