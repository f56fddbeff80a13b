"""`fleet-client`: log in once through the front door, then list and call any server's tools."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

import anyio
from mcp_types import CallToolResult

from .config import ClientConfig, load_config
from .errors import ConfigError, DeviceSignInNeeded, FleetClientError, explain
from .generate import dumps, mcp_json, metadata_document
from .session import FleetClient
from .storage import stored_grants

__all__ = ["main", "parse_arguments"]

SCOPE_META_KEY = "fleet/scope"


def _table(rows: list[dict[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    if not rows:
        print("(none)", file=out)
        return
    cells = [[str(row.get(c, "") if row.get(c) is not None else "") for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(), file=out)
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip(), file=out)


def _emit(args: argparse.Namespace, data: Any, columns: Sequence[str] | None, out: TextIO) -> None:
    if args.output == "json":
        print(json.dumps(data, indent=2, default=str), file=out)
    elif columns is not None:
        _table(data, columns, out)
    else:
        print(data if isinstance(data, str) else json.dumps(data, indent=2, default=str), file=out)


def parse_value(raw: str) -> Any:
    """`key=value` values: JSON literals (numbers, true/false/null, lists, objects), else a string."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_call_arguments(pairs: Sequence[str], json_text: str | None) -> dict[str, Any]:
    if json_text is not None:
        if pairs:
            raise ConfigError("use either key=value arguments or --json, not both")
        try:
            value = json.loads(json_text)
        except ValueError as exc:
            raise ConfigError(f"--json is not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise ConfigError("--json must be a JSON object")
        return value
    arguments: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"argument {pair!r} is not key=value")
        arguments[key] = parse_value(raw)
    return arguments


def _result(result: CallToolResult) -> Any:
    if result.structured_content is not None:
        return result.structured_content
    texts = [getattr(c, "text", None) for c in result.content]
    return "\n".join(t for t in texts if t is not None)


def _expiry(expires_at: float | None) -> str:
    if expires_at is None:
        return "unknown"
    left = int(expires_at - time.time())
    return "expired" if left <= 0 else f"in {left // 60} min {left % 60} s"


def _device_sign_in_needed(exc: BaseException) -> DeviceSignInNeeded | None:
    if isinstance(exc, DeviceSignInNeeded):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _device_sign_in_needed(inner)
            if found is not None:
                return found
    return None


async def _run(args: argparse.Namespace, config: ClientConfig, out: TextIO) -> int:
    fleet = FleetClient(config, headless=args.headless)
    try:
        return await _command(fleet, args, config, out)
    except BaseException as exc:
        needed = _device_sign_in_needed(exc)
        if needed is None or args.command == "login":
            raise
    # the grant came from `login --device`: renew it the same way (this machine may have no browser),
    # then run the command once more — the refused request did nothing
    print("the stored sign-in came from the device flow: signing in the same way", file=sys.stderr)
    await fleet.device_login(args.server, scope=needed.scope)
    return await _command(fleet, args, config, out)


async def _command(fleet: FleetClient, args: argparse.Namespace, config: ClientConfig, out: TextIO) -> int:
    cc = args.client_credentials or getattr(args, "login_client_credentials", False)
    if args.command == "login":
        names = [args.server] if args.server else [s.name for s in config.servers]
        if not names:
            raise ConfigError("no servers configured: pass --server URL or set up fleet.toml / config.toml")
        for name in names:
            if args.device:
                await fleet.device_login(name, scope=args.scope)
            else:
                await fleet.login(name, force=args.force, client_credentials=cc)
            print(f"logged in to {name}", file=sys.stderr)
        return 0
    if args.command == "tools":
        async with fleet.connect(args.server, client_credentials=cc) as client:
            listed = await client.list_tools()
        rows = [
            {
                "name": t.name,
                "scope": (t.meta or {}).get(SCOPE_META_KEY, ""),
                "read_only": bool(t.annotations and t.annotations.read_only_hint),
                "description": (t.description or "").strip().splitlines()[0] if t.description else "",
            }
            for t in listed.tools
        ]
        _emit(args, rows, ["name", "scope", "read_only", "description"], out)
        return 0
    if args.command == "call":
        arguments = parse_call_arguments(args.arguments, args.json)
        async with fleet.connect(args.server, client_credentials=cc) as client:
            result = await client.call_tool(args.tool, arguments)
        _emit(
            args,
            {"is_error": result.is_error, "result": _result(result)}
            if args.output == "json"
            else _result(result),
            None,
            out,
        )
        return 1 if result.is_error else 0
    if args.command == "whoami":
        if args.server:
            async with fleet.connect(args.server, client_credentials=cc) as client:
                result = await client.call_tool("whoami", {})
            _emit(args, _result(result), None, out)
            return 1 if result.is_error else 0
        return _local_grants(args, config, out)
    raise AssertionError(args.command)


def _local_grants(args: argparse.Namespace, config: ClientConfig, out: TextIO) -> int:
    names = {s.url: s.name for s in config.servers}
    rows = [
        {
            "server": names.get(g.resource, g.resource),
            "issuer": g.issuer,
            "scope": g.scope,
            "expires": _expiry(g.expires_at),
            "refreshable": g.has_refresh_token,
        }
        for g in stored_grants(config.state_dir)
    ]
    if not rows and args.output == "table":
        print(
            "not signed in to any server: `fleet-client login` signs in to all of them, "
            "`fleet-client login --server NAME` to one (`fleet-client servers` lists them)",
            file=out,
        )
        return 0
    _emit(args, rows, ["server", "scope", "expires", "refreshable", "issuer"], out)
    return 0


def _servers(args: argparse.Namespace, config: ClientConfig, out: TextIO) -> int:
    held = {g.resource for g in stored_grants(config.state_dir)}
    rows = [
        {
            "name": s.name,
            "url": s.url,
            "scopes": " ".join(s.scopes),
            "logged_in": s.url in held,
            "description": s.description,
        }
        for s in config.servers
    ]
    _emit(args, rows, ["name", "url", "scopes", "logged_in", "description"], out)
    return 0


def _common(*, client_credentials: bool, suppress: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after the command name. After it, they default to
    SUPPRESS so a subcommand's parser does not reset what was given before the command name."""
    common = argparse.ArgumentParser(add_help=False)

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    common.add_argument("--output", choices=["table", "json"], default=default("table"), help="output format")
    common.add_argument(
        "--headless",
        action="store_true",
        default=default(False),
        help="print the sign-in URL instead of opening a browser",
    )
    if client_credentials:
        common.add_argument(
            "--client-credentials",
            action="store_true",
            default=default(False),
            help="authenticate as the confidential client in [client_credentials] of the config file",
        )
    return common


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fleet-client", description=__doc__, parents=[_common(client_credentials=True, suppress=False)]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    after = _common(client_credentials=True, suppress=True)
    after_login = _common(client_credentials=False, suppress=True)  # login has its own, below

    def command(name: str, help: str, *, login: bool = False) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[after_login if login else after])

    login = command("login", "sign in (all servers, or one)", login=True)
    login.add_argument("--server", help="server name from the manifest, or a full MCP URL")
    flow = login.add_mutually_exclusive_group()
    flow.add_argument("--device", action="store_true", help="device authorization grant (RFC 8628)")
    flow.add_argument(
        "--client-credentials",
        dest="login_client_credentials",
        action="store_true",
        help="client credentials grant",
    )
    login.add_argument("--scope", help="scopes to request with --device (default: the server's)")
    login.add_argument("--force", action="store_true", help="discard stored tokens first")

    command("servers", "list configured servers")
    tools = command("tools", "list a server's tools")
    tools.add_argument("server")
    call = command("call", "call a tool: key=value ... or --json '{...}'")
    call.add_argument("server")
    call.add_argument("tool")
    call.add_argument("arguments", nargs="*", metavar="key=value")
    call.add_argument("--json", help="all arguments as one JSON object")
    whoami = command("whoami", "stored sign-ins, or who a server thinks you are")
    whoami.add_argument("server", nargs="?")
    logout = command("logout", "forget stored tokens")
    logout.add_argument("--server")
    cfg = command("config", "print an mcp.json for VS Code or Claude Code from the manifest")
    cfg.add_argument("--format", choices=["vscode", "claude"], required=True)
    doc = command("metadata-document", "print the Client ID Metadata Document for a URL")
    doc.add_argument("--url", required=True, help="the https URL the document will be served at")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = parse_arguments(argv)
    # The SDK logs a traceback for every failed OAuth flow; the user gets one clear line instead.
    logging.getLogger("mcp").setLevel(logging.CRITICAL)
    try:
        config = load_config()
        if args.command == "servers":
            return _servers(args, config, out)
        if args.command == "logout":
            removed = FleetClient(config).logout(args.server)
            print(f"removed {removed} stored token file(s)", file=sys.stderr)
            return 0
        if args.command == "config":
            out.write(dumps(mcp_json(config, args.format)))
            return 0
        if args.command == "metadata-document":
            out.write(dumps(metadata_document(args.url)))
            return 0
        return anyio.run(_run, args, config, out)
    except KeyboardInterrupt:
        return 130
    except FleetClientError as exc:
        print(f"fleet-client: {exc}", file=sys.stderr)
        return 2
    except BaseException as exc:  # exception groups from the transports
        message = explain(exc)
        if message is None:
            raise
        print(f"fleet-client: {message}", file=sys.stderr)
        return 2
