"""Set up a MediaWiki for fleet-wiki, idempotently: the compose stack's `wiki-init` job runs this.

Standard library only: it runs with the system python3 inside the mediawiki image
(servers/wiki/init.Dockerfile), next to PHP and the maintenance scripts. Each run converges on the
environment's values:

1. `install.php` into the data volume, once (LocalSettings.php absent), plus the settings fleet-wiki needs
   (bot passwords on; bots may create the change tag);
2. the bot account (`createAndPromote.php --force --bot`: created, or left as it is);
3. its BotPassword for app `<appid>` set to the given password: the old one is removed first, so a
   rotated password in `.env` takes effect on the next run;
4. the data directory owned by the web server's user.

Passwords are passed as arguments to PHP (never printed: the scripts' output is captured, and
createBotPassword.php's own output, which repeats the password, is dropped).

    python3 -m fleet_wiki.provision   # reads MW_* / FLEET_WIKI_* from the environment (see main())
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BOT_GRANTS", "WikiProvision", "main", "provision"]

BOT_GRANTS = "basic,highvolume,editpage,createeditmovepage,managechangetags"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
FLEET_SETTINGS = """
// --- added by fleet_wiki.provision (mcp-fleet) ---
$wgEnableBotPasswords = true;
// fleet-wiki tags its edits; the bot creates the tag once, which needs managechangetags (and, through a
// quirk of ApiManageTags, deletechangetags): no standard grant carries them, so one is defined here.
$wgGroupPermissions['bot']['managechangetags'] = true;
$wgGroupPermissions['bot']['deletechangetags'] = true;
$wgGrantPermissions['managechangetags']['managechangetags'] = true;
$wgGrantPermissions['managechangetags']['deletechangetags'] = true;
$wgGrantPermissionGroups['managechangetags'] = 'administration';
"""


class ProvisionError(Exception):
    """A step failed; the message names it (never a password)."""


@dataclass(frozen=True)
class WikiProvision:
    mediawiki_dir: Path  # where maintenance/ is (/var/www/html in the image, /usr/share/mediawiki here)
    data_dir: Path  # LocalSettings.php and the SQLite files (the mediawiki-data volume)
    server: str  # $wgServer: how fleet-wiki reaches the wiki (http://mediawiki in compose)
    admin_password: str
    bot_user: str
    bot_app: str
    bot_password: str
    php: str = "php"
    web_user: str | None = "www-data"  # who must own data_dir (None: leave ownership)


def provision(p: WikiProvision) -> list[str]:
    """Converge the wiki on `p`; returns the steps taken (for the log)."""
    for what, value in (("bot user", p.bot_user), ("bot app id", p.bot_app)):
        if not _NAME.fullmatch(value):
            raise ProvisionError(f"{what} {value!r} must match {_NAME.pattern}")
    for what, value in (("admin password", p.admin_password), ("bot password", p.bot_password)):
        # hex from `fleet stack init`: a value starting with "-" would be read as an option by PHP's getopt
        if len(value) < 32 or value.startswith("-"):
            raise ProvisionError(f"the {what} must be at least 32 characters and not start with '-'")
    settings = p.data_dir / "LocalSettings.php"
    steps = []
    p.data_dir.mkdir(parents=True, exist_ok=True)
    if not settings.exists():
        _php(
            p,
            "install.php",
            ["--dbtype", "sqlite", "--dbpath", str(p.data_dir), "--dbname", "wiki", "--server", p.server],
            ["--scriptpath", "", "--lang", "en", "--confpath", str(p.data_dir), "--pass", p.admin_password],
            ["Fleet Wiki", "Admin"],
            settings=None,
        )
        with settings.open("a", encoding="utf-8") as out:
            out.write(FLEET_SETTINGS)
        steps.append("installed MediaWiki")
    # the account's own password is random and unused: it signs in through its BotPassword only
    _php(
        p, "createAndPromote.php", ["--force", "--bot", p.bot_user, secrets.token_hex(16)], settings=settings
    )
    steps.append(f"bot account {p.bot_user}")
    # a BotPassword can't be updated by a maintenance script: remove ours, then create it with the password
    # from the environment (bp_app_id is checked against _NAME above, so it is safe in the SQL)
    _php(
        p,
        "sql.php",
        ["--query", f"DELETE FROM bot_passwords WHERE bp_app_id = '{p.bot_app}'"],  # noqa: S608
        settings=settings,
    )
    _php(
        p,
        "createBotPassword.php",
        ["--appid", p.bot_app, "--grants", BOT_GRANTS, p.bot_user, p.bot_password],
        settings=settings,
    )
    steps.append(f"bot password {p.bot_user}@{p.bot_app}")
    if p.web_user is not None:
        _chown_tree(p.data_dir, p.web_user)
        steps.append(f"{p.data_dir} owned by {p.web_user}")
    return steps


def _php(p: WikiProvision, script: str, *parts: list[str], settings: Path | None) -> None:
    args = [arg for part in parts for arg in part]
    env = {k: v for k, v in os.environ.items() if k != "MW_INSTALL_PATH"}
    if settings is not None:
        env["MW_CONFIG_FILE"] = str(settings)
    else:
        env.pop("MW_CONFIG_FILE", None)  # the installer writes a fresh LocalSettings.php
    done = subprocess.run(  # noqa: S603 - fixed scripts, arguments as a list
        [p.php, str(p.mediawiki_dir / "maintenance" / script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        for secret in (p.admin_password, p.bot_password):
            detail = [line.replace(secret, "***") for line in detail]
        raise ProvisionError(f"{script} failed: " + " | ".join(detail[-3:]))


def _chown_tree(root: Path, user: str) -> None:
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return  # no such user here (e.g. tests): nothing to hand over
    for path in [root, *root.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def main() -> None:
    env = os.environ
    try:
        p = WikiProvision(
            mediawiki_dir=Path(env.get("MW_INSTALL_DIR", "/var/www/html")),
            data_dir=Path(env.get("MW_DATA_DIR", "/var/www/data")),
            server=env.get("MW_SERVER", "http://mediawiki"),
            admin_password=env["MW_ADMIN_PASSWORD"],
            bot_user=env.get("FLEET_WIKI_BOT_USER", "Fleetbot"),
            bot_app=env.get("FLEET_WIKI_BOT_APP", "fleet"),
            bot_password=env["FLEET_WIKI_BOT_PASSWORD"],
        )
        for step in provision(p):
            print(f"wiki-init: {step}")
    except KeyError as exc:
        sys.exit(f"wiki-init: {exc.args[0]} is not set")
    except ProvisionError as exc:
        sys.exit(f"wiki-init: {exc}")


if __name__ == "__main__":
    main()
