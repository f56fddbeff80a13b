"""A throwaway MediaWiki (SQLite, `php -S`, loopback) from the system's mediawiki + php packages.

Used by the tests and by `fleet dev` (fleet_wiki.dev). Installs nothing: scripts/setup.d/30-mediawiki.sh
does that. Steps: install.php into a temp dir, our own settings file via MW_CONFIG_FILE, a bot user
with a BotPassword, `php -S` on a free port, then seed pages through the API.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
import httpx2

from fleet_core import DevBackendUnavailable, Reaper, free_port

from .backend import MediaWikiClient

__all__ = ["BOT_GRANTS", "EmbeddedWiki", "embedded_wiki", "mediawiki_dir"]

# What the bot needs (README "MediaWiki setup"): read/edit/create/move, no rate limits.
BOT_GRANTS = "basic,highvolume,editpage,createeditmovepage"
# The seeding account additionally protects pages.
_ADMIN_GRANTS = BOT_GRANTS + ",protect,editprotected"

SETTINGS_TEMPLATE = """<?php
// mcp-fleet throwaway wiki: the installer's settings plus what the fleet needs.
require __DIR__ . '/LocalSettings.php';
$wgEnableBotPasswords = true;
$wgSessionCacheType = CACHE_DB;       // sessions in wikicache.sqlite: tests expire them for real
$wgMainCacheType = CACHE_NONE;
$wgShowExceptionDetails = true;
$wgJobRunRate = 0;                    // no jobs in web requests; links/search update as deferred updates
$wgEnableUploads = false;
$wgRateLimits = [];
// Creating the change tag needs `managechangetags` (and, through a quirk of MediaWiki 1.39's
// ApiManageTags, `deletechangetags`); no standard grant carries them, so this wiki defines one and
// lets bots hold it. Alternative: create the tag once with maintenance/addChangeTag.php.
$wgGroupPermissions['bot']['managechangetags'] = true;
$wgGroupPermissions['bot']['deletechangetags'] = true;
$wgGrantPermissions['managechangetags']['managechangetags'] = true;
$wgGrantPermissions['managechangetags']['deletechangetags'] = true;
$wgGrantPermissionGroups['managechangetags'] = 'administration';
"""

SEED_PAGES: dict[str, str] = {
    "Onboarding": (
        "Welcome to the team. Read the [[Deploy guide]] first.\n\n"
        "== Accounts ==\nAsk IT for a laptop and a Gitea account.\n\n"
        "== Tools ==\nWe use Gitea, Sentry and this wiki.\n\n"
        "=== Editors ===\nAny editor will do.\n\n"
        "[[Category:Guides]]"
    ),
    "Deploy guide": (
        "How to deploy: merge to main, then watch [[Onboarding|the onboarding page]].\n\n"
        "== Rollback ==\nRevert the merge commit.\n\n[[Category:Guides]]"
    ),
    "Category:Guides": "Guides for new colleagues.",
    "Protected page": "This page is protected: only administrators may edit it.",
}


def big_page_text(sections: int = 40, paragraph_bytes: int = 3000) -> str:
    """A page far larger than the default output cap, with numbered sections."""
    parts = ["Intro of the big page.\n"]
    for i in range(1, sections + 1):
        line = f"Section {i} line. " * (paragraph_bytes // 17)
        parts.append(f"== Part {i} ==\n{line}\nEnd of part {i}.\n")
    return "\n".join(parts)


@dataclass(frozen=True)
class EmbeddedWiki:
    url: str  # where api.php / rest.php live
    workdir: pathlib.Path
    bot_username: str
    bot_password: str
    admin_username: str
    admin_password: str

    @property
    def session_db(self) -> pathlib.Path:
        """SQLite file holding sessions (table objectcache): delete rows to expire every session."""
        return self.workdir / "data" / "wikicache.sqlite"

    def client(self, *, timeout: float = 10.0) -> MediaWikiClient:
        return MediaWikiClient(self.url, self.bot_username, self.bot_password, timeout=timeout)

    def admin_client(self) -> MediaWikiClient:
        return MediaWikiClient(self.url, self.admin_username, self.admin_password)


def mediawiki_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("FLEET_WIKI_MEDIAWIKI_DIR", "/usr/share/mediawiki"))


def _check_installed(root: pathlib.Path) -> str:
    php = shutil.which("php")
    if php is None or not (root / "maintenance" / "install.php").is_file():
        raise DevBackendUnavailable(
            "MediaWiki + PHP are not installed: run scripts/setup.d/30-mediawiki.sh "
            "(apt-get install mediawiki php-cli php-sqlite3 php-intl php-mbstring php-xml), "
            "or point FLEET_WIKI_URL at an existing wiki"
        )
    return php


async def _php(php: str, root: pathlib.Path, script: str, *args: str, env: dict[str, str]) -> None:
    cmd = [php, str(root / "maintenance" / script), *args]
    result = await anyio.run_process(cmd, env=env, check=False)
    if result.returncode != 0:
        out = (result.stdout + result.stderr).decode(errors="replace")[-2000:]
        raise RuntimeError(f"{script} failed ({result.returncode}): {out}")


@contextlib.asynccontextmanager
async def embedded_wiki(workdir: pathlib.Path, *, seed: bool = True) -> AsyncIterator[EmbeddedWiki]:
    """Install, start and seed a wiki under `workdir`; stop it on exit (the files stay for inspection)."""
    root = mediawiki_dir()
    php = _check_installed(root)
    data = workdir / "data"
    # Throwaway: a previous run's wiki (same `fleet dev` workdir) is replaced, never reused.
    shutil.rmtree(data, ignore_errors=True)
    for name in ("LocalSettings.php", "FleetSettings.php"):
        (workdir / name).unlink(missing_ok=True)
    data.mkdir(parents=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # Hex only: a random password starting with "-" would be parsed as an option by the maintenance scripts.
    admin_pass = secrets.token_hex(16)
    env = {**os.environ, "MW_CONFIG_FILE": str(workdir / "FleetSettings.php")}
    env.pop("MW_INSTALL_PATH", None)

    await _php(
        php,
        root,
        "install.php",
        "--dbtype",
        "sqlite",
        "--dbpath",
        str(data),
        "--dbname",
        "wiki",
        "--server",
        url,
        "--scriptpath",
        "",
        "--lang",
        "en",
        "--skins",
        "",
        "--confpath",
        str(workdir),
        "--pass",
        admin_pass,
        "Fleet Wiki",
        "Admin",
        env={**env, "MW_CONFIG_FILE": str(workdir / "LocalSettings.php")},
    )
    (workdir / "FleetSettings.php").write_text(SETTINGS_TEMPLATE)
    bot_pass = secrets.token_hex(16)  # BotPasswords are 32 chars
    admin_bot_pass = secrets.token_hex(16)
    await _php(php, root, "createAndPromote.php", "--bot", "Fleetbot", secrets.token_hex(16), env=env)
    await _php(
        php,
        root,
        "createBotPassword.php",
        "--appid",
        "fleet",
        "--grants",
        BOT_GRANTS + ",managechangetags",
        "Fleetbot",
        bot_pass,
        env=env,
    )
    await _php(
        php,
        root,
        "createBotPassword.php",
        "--appid",
        "seed",
        "--grants",
        _ADMIN_GRANTS,
        "Admin",
        admin_bot_pass,
        env=env,
    )

    log = (workdir / "php-server.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603, ASYNC220 - fixed argv; a long-lived child we stop ourselves
        [php, "-d", "opcache.enable_cli=1", "-S", f"127.0.0.1:{port}", "-t", str(root)],
        env={**env, "PHP_CLI_SERVER_WORKERS": "4"},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the workers stop with it
        cwd=workdir,
    )
    # php -S and its workers outlive this process if it is killed outright: a watchdog stops them then
    reaper = Reaper(killpg=[proc.pid]).start()
    wiki = EmbeddedWiki(url, workdir, "Fleetbot@fleet", bot_pass, "Admin@seed", admin_bot_pass)
    try:
        await _wait_ready(url, proc)
        if seed:
            await seed_wiki(wiki)
        yield wiki
    finally:
        reaper.cancel()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()


async def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    async with httpx2.AsyncClient(timeout=2) as http:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"php -S exited with {proc.returncode}; see php-server.log")
            with contextlib.suppress(httpx2.TransportError):
                r = await http.get(
                    f"{url}/api.php", params={"action": "query", "meta": "siteinfo", "format": "json"}
                )
                if r.status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("the throwaway wiki did not answer within 20 s")
            await anyio.sleep(0.05)


async def seed_wiki(wiki: EmbeddedWiki) -> None:
    """Pages the tests and the dev demo rely on: links, a category, sections, a big and a protected page."""
    async with wiki.admin_client() as admin:
        pages = {**SEED_PAGES, "Big page": big_page_text()}
        for title, text in pages.items():
            await admin.post(action="edit", title=title, text=text, summary="seed", createonly=True)
        await admin.post(
            action="protect",
            title="Protected page",
            protections="edit=sysop|move=sysop",
            expiry="infinite|infinite",
            reason="seed",
        )
