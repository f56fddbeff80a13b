"""The `fleet` command: `fleet dev`, `fleet dev token`, `fleet gateway kong` (generated production config),
`fleet stack init` / `fleet stack verify` (the compose stack's secrets, and a smoke check of a front door),
`fleet new` (a new server from the template, registered everywhere; `--update` brings template changes),
`fleet workshop …` (the hands-on workshop: progress, check, catch-up, doctor)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .manifest import Manifest

__all__ = ["main"]

# Each command imports what it needs when it runs: the manifest and fleet_core bring in the MCP SDK
# (about 2 s of CPU on a small machine), which `fleet workshop …` — run dozens of times in a workshop
# and in its CI dry-run — never needs.


def _load(args: argparse.Namespace) -> tuple[Path, Manifest]:
    from .manifest import find_manifest, load_manifest

    path = (args.manifest or find_manifest()).resolve()
    return path, load_manifest(path)


def cmd_dev(args: argparse.Namespace) -> int:
    import anyio

    from .devrun import DevFleet

    path, manifest = _load(args)
    state_dir = (args.state_dir or path.parent / ".fleet").resolve()
    fleet = DevFleet(
        manifest,
        path,
        state_dir,
        live=not args.no_live,
        allow_loopback_cimd=args.allow_loopback_cimd,
    )
    return anyio.run(fleet.run)


def cmd_dev_token(args: argparse.Namespace) -> int:
    """Print only the access token on stdout; everything else goes to stderr."""
    import httpx2

    from fleet_core import is_loopback

    _, manifest = _load(args)
    issuer = manifest.issuer.url
    if not is_loopback(httpx2.URL(issuer).host):
        print(
            f"fleet dev token: the issuer {issuer} is not on loopback; this is a dev-only shortcut",
            file=sys.stderr,
        )
        return 1
    try:
        response = httpx2.post(
            issuer + "/dev/token", json={"user": args.user, "scope": args.scope}, timeout=10, trust_env=False
        )
    except httpx2.HTTPError:
        print(
            f"fleet dev token: no dev authorization server at {issuer}; start it with `uv run fleet dev`",
            file=sys.stderr,
        )
        return 1
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or "access_token" not in body:
        reason = body.get("error_description") or f"HTTP {response.status_code}"
        print(f"fleet dev token: refused: {reason}", file=sys.stderr)
        return 1
    print(body["access_token"])
    return 0


def cmd_gateway_kong(args: argparse.Namespace) -> int:
    from .generate import check, write

    path, manifest = _load(args)
    root = (args.root or path.parent).resolve()
    if args.check:
        stale = check(manifest, root)
        for rel in stale:
            print(f"fleet gateway kong: {rel} is out of date with {path.name}", file=sys.stderr)
        if stale:
            print("run `uv run fleet gateway kong` and commit the result", file=sys.stderr)
            return 1
        print("generated gateway config is up to date")
        return 0
    written = write(manifest, root)
    for file in written:
        print(f"wrote {file.relative_to(root)}")
    if not written:
        print("generated gateway config is up to date")
    return 0


def cmd_stack_init(args: argparse.Namespace) -> int:
    from .compose import AUTHGATE_CLIENTS_DIR
    from .stack import StackInitError, init_stack

    path, manifest = _load(args)
    root = (args.root or path.parent).resolve()
    try:
        result = init_stack(manifest, root, force=args.force)
    except StackInitError as exc:
        print(f"fleet stack init: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {result.env_file} (mode 0600): {len(result.generated)} fresh secrets")
    print(f"wrote {result.key_file} (RS256 key, 0644 in a 0700 directory: AuthGate runs as uid 1000)")
    if result.to_fill:
        print("still to fill in .env: " + ", ".join(result.to_fill))
    print(
        "next: docker compose up -d --build, then uv run fleet stack verify --origin <gateway origin> "
        f"--clients {AUTHGATE_CLIENTS_DIR}"
    )
    return 0


def cmd_stack_verify(args: argparse.Namespace) -> int:
    from .verify import run_verify

    _, manifest = _load(args)
    return run_verify(manifest, args)


def cmd_new(args: argparse.Namespace) -> int:
    from .manifest import find_manifest
    from .scaffold import ScaffoldError, create, update

    path = (args.manifest or find_manifest()).resolve()
    root = path.parent
    try:
        if args.update:
            print(f"fleet new --update {args.name}: applying template changes")
            seconds = update(root, args.name)
            print(f"done in {seconds:.1f} s. Next: git diff, then uv run pytest servers/{args.name}")
            return 0
        print(f"fleet new {args.name}: generating servers/{args.name} and registering it")
        seconds = create(
            root, args.name, description=args.description, item=args.item, run_tests=not args.no_test
        )
    except ScaffoldError as exc:
        print(f"fleet new: {exc}", file=sys.stderr)
        return 1
    print(f"done in {seconds:.1f} s. servers/{args.name} is in the fleet (fleet dev, the gateway, compose).")
    print(f"Next: uv run fleet dev   (then edit servers/{args.name}/src/fleet_{args.name.replace('-', '_')})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleet", description="mcp-fleet: the front door and the fleet, locally"
    )
    parser.add_argument(
        "--manifest", type=Path, default=None, help="fleet.toml (default: $FLEET_MANIFEST or nearest)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser("dev", help="run the authorization server, gateway and every enabled server")
    dev.add_argument("--state-dir", type=Path, default=None, help="default: .fleet/ next to fleet.toml")
    dev.add_argument("--no-live", action="store_true", help="plain log lines instead of the live table")
    dev.add_argument(
        "--allow-loopback-cimd", action="store_true", help="dev only: CIMD documents on loopback"
    )
    dev.set_defaults(func=cmd_dev)
    dev_commands = dev.add_subparsers(dest="dev_command")
    token = dev_commands.add_parser("token", help="print a dev access token (fleet dev must be running)")
    token.add_argument("--user", required=True, help="a dev user from fleet.toml, e.g. alice")
    token.add_argument("--scope", required=True, help='scopes of one server, e.g. "db:read"')
    token.set_defaults(func=cmd_dev_token)

    gateway = commands.add_parser("gateway", help="production gateway config")
    gateway_commands = gateway.add_subparsers(dest="gateway_command", required=True)
    kong = gateway_commands.add_parser(
        "kong",
        help="write the production config from fleet.toml: gateway/kong.yml, AuthGate settings and the "
        "compose stack (compose.yaml, gateway/kong.compose.yml, .env.example)",
    )
    kong.add_argument("--check", action="store_true", help="exit 1 if the committed files are stale")
    kong.add_argument("--root", type=Path, default=None, help="repo root (default: the manifest's folder)")
    kong.set_defaults(func=cmd_gateway_kong)

    new = commands.add_parser(
        "new", help="a new server from template/server, registered everywhere (rolled back on any failure)"
    )
    new.add_argument("name", help="server name: lowercase letters, digits, single hyphens (e.g. notes)")
    new.add_argument("--description", default=None, help="one line: what the server does")
    new.add_argument("--item", default="item", help="the noun of the example tools: list_<item>s, add_<item>")
    new.add_argument("--no-test", action="store_true", help="skip running the new server's tests")
    new.add_argument(
        "--update", action="store_true", help="apply template changes to servers/NAME (copier update)"
    )
    new.set_defaults(func=cmd_new)

    stack = commands.add_parser("stack", help="the compose stack: secrets, and a smoke check")
    stack_commands = stack.add_subparsers(dest="stack_command", required=True)
    init = stack_commands.add_parser(
        "init", help="write .env with fresh secrets (0600) and AuthGate's RS256 key; never overwrites"
    )
    init.add_argument("--force", action="store_true", help="replace an existing .env (new secrets)")
    init.add_argument(
        "--root", type=Path, default=None, help="where compose.yaml is (default: the manifest's)"
    )
    init.set_defaults(func=cmd_stack_init)
    verify = stack_commands.add_parser(
        "verify", help="black-box smoke check of a running front door (fleet dev or the compose stack)"
    )
    verify.add_argument(
        "--origin", required=True, help="the gateway's public origin, e.g. http://127.0.0.1:8700"
    )
    verify.add_argument(
        "--clients",
        type=Path,
        default=None,
        help="what authgate-init wrote (compose: .secrets/authgate-clients): the generated id and secret "
        "of fleet.toml's client-credentials client",
    )
    verify.add_argument("--client-id", default=None, help="confidential client (client credentials)")
    verify.add_argument(
        "--client-secret-env", default=None, help="the variable holding its secret (default: the manifest's)"
    )
    verify.set_defaults(func=cmd_stack_verify)

    from .workshop.cli import add_workshop_parser

    add_workshop_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:
        manifest = sys.modules.get("fleet_frontdoor.manifest")  # loaded by the command that raised it
        if manifest is None or not isinstance(exc, manifest.ManifestError):
            raise
        print(f"fleet: {exc}", file=sys.stderr)
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
