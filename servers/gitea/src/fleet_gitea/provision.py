"""The Gitea service account and its token, idempotently: the compose stack's `gitea-init` job runs this.

Standard library only: it runs with python3 inside the gitea image (servers/gitea/init.Dockerfile), as the
`git` user, through Gitea's own admin CLI (which works on Gitea's database directly):

1. wait until the gitea container has written its config (its first start creates app.ini);
2. `gitea admin user list --admin`: is the service account there? If not,
   `gitea admin user create --username … --email … --admin --random-password --must-change-password=false`
   (a site admin: Gitea honours `Sudo` only for admins; the random password is never used or shown);
3. if the token file is missing or empty: `gitea admin user generate-access-token --username …
   --token-name mcp-fleet-<time>-<random> --scopes … --raw`, written to the token file (a volume only
   gitea-init and mcp-gitea mount; mcp-gitea reads it through FLEET_GITEA_TOKEN_FILE). An existing token
   is kept.

Gitea's CLI prints the generated password and token on stdout: the output is captured, never echoed.
Flags and output shapes as in go-gitea/gitea cmd/admin_user_create.go (01da7274), admin_user_list.go
(3a53ffb2) and admin_user_generate_access_token.go (073603f1).

    python3 -m fleet_gitea.provision   # reads FLEET_GITEA_* from the environment (see main())
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SCOPES", "GiteaProvision", "ProvisionError", "main", "provision"]

# what fleet-gitea's tools need (servers/gitea/README.md); never `admin`: Sudo needs an admin account,
# not the admin scope
SCOPES = "write:repository,write:issue,read:user,read:notification"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,38}$")


class ProvisionError(Exception):
    """A step failed; the message names it (never a token or password)."""


@dataclass(frozen=True)
class GiteaProvision:
    token_file: Path
    username: str = "fleet-bot"
    email: str = "fleet-bot@fleet.invalid"
    gitea: str = "gitea"
    config_file: Path = Path("/data/gitea/conf/app.ini")  # written by the gitea container's first start
    wait_seconds: float = 180.0


Run = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603


def provision(p: GiteaProvision, run: Run = _run, sleep: Callable[[float], None] = time.sleep) -> list[str]:
    if not _NAME.fullmatch(p.username):
        raise ProvisionError(f"username {p.username!r} is not a Gitea username")
    waited = 0.0
    while not p.config_file.is_file():
        if waited >= p.wait_seconds:
            raise ProvisionError(f"{p.config_file} did not appear: is the gitea service running?")
        sleep(1.0)
        waited += 1.0
    # the first start also creates the database tables: until then the CLI fails, so retry the read
    admins: str | None = None
    while admins is None:
        try:
            admins = _cli(p, run, "list admins", ["admin", "user", "list", "--admin"]).stdout
        except ProvisionError:
            if waited >= p.wait_seconds:
                raise
            sleep(1.0)
            waited += 1.0
    steps = []
    # a tabwriter table: "ID Username Email IsActive", one admin per line
    names = {line.split()[1] for line in admins.splitlines()[1:] if len(line.split()) >= 2}
    if p.username not in names:
        create = ["admin", "user", "create", "--username", p.username, "--email", p.email, "--admin"]
        _cli(
            p,
            run,
            "create the service account",
            [*create, "--random-password", "--must-change-password=false"],
        )
        steps.append(f"created site admin {p.username}")
    else:
        steps.append(f"site admin {p.username} exists")
    if p.token_file.is_file() and p.token_file.read_text(encoding="utf-8").strip():
        steps.append(f"token kept ({p.token_file})")
        return steps
    # unique: Gitea refuses a name used before (a lost token file, twice in one second)
    token_name = f"mcp-fleet-{int(time.time())}-{secrets.token_hex(3)}"
    made = _cli(
        p,
        run,
        "generate the access token",
        ["admin", "user", "generate-access-token", "--username", p.username, "--token-name", token_name],
        ["--scopes", SCOPES, "--raw"],
    )
    token = made.stdout.strip()
    if not re.fullmatch(r"[0-9a-f]{40}", token):
        raise ProvisionError("gitea printed no token")
    p.token_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.token_file.with_name(f".{p.token_file.name}.tmp")
    # readable by mcp-gitea (another uid) in a volume only gitea-init and mcp-gitea mount
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    os.replace(tmp, p.token_file)
    steps.append(f"token {token_name} written to {p.token_file}")
    return steps


def _cli(p: GiteaProvision, run: Run, what: str, *parts: list[str]) -> subprocess.CompletedProcess[str]:
    done = run([p.gitea, *[arg for part in parts for arg in part]])
    if done.returncode != 0:
        # stderr only: stdout may hold a password or token
        last = (done.stderr or "").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise ProvisionError(f"{what} failed: {last[0]}")
    return done


def main() -> None:
    env = os.environ
    try:
        p = GiteaProvision(
            token_file=Path(env.get("FLEET_GITEA_TOKEN_FILE", "/run/fleet-gitea/token")),
            username=env.get("FLEET_GITEA_SERVICE_USER", "fleet-bot"),
            email=env.get("FLEET_GITEA_SERVICE_EMAIL", "fleet-bot@fleet.invalid"),
        )
        for step in provision(p):
            print(f"gitea-init: {step}")
    except ProvisionError as exc:
        sys.exit(f"gitea-init: {exc}")


if __name__ == "__main__":
    main()
