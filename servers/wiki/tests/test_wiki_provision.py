"""fleet_wiki.provision (the compose stack's wiki-init job) against the real MediaWiki: it installs
once, creates the bot and its BotPassword, and a second run (a rotated password) converges without a
reinstall."""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from fleet_core.testing import free_port
from fleet_wiki.backend import MediaWikiClient
from fleet_wiki.embedded import mediawiki_dir
from fleet_wiki.provision import ProvisionError, WikiProvision, provision


def _serve(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {"MW_CONFIG_FILE": str(data / "LocalSettings.php"), "PATH": "/usr/bin:/bin"}
    return subprocess.Popen(
        ["php", "-S", f"127.0.0.1:{port}", "-t", str(mediawiki_dir())],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def server(tmp_path: Path) -> tuple[Path, int]:
    return tmp_path / "data", free_port()


async def _bot_can_edit(url: str, password: str) -> bool:
    async with MediaWikiClient(url, "Fleetbot@fleet", password, timeout=10) as client:
        answer = await client.post(
            action="edit", title="Provision check", text="ok", summary="provision test"
        )
    return bool(answer.get("edit", {}).get("result") == "Success")


async def test_provision_installs_once_and_converges_on_the_bot_password(server: tuple[Path, int]) -> None:
    data, port = server
    first = secrets.token_hex(16)
    setup = WikiProvision(
        mediawiki_dir=mediawiki_dir(),
        data_dir=data,
        server=f"http://127.0.0.1:{port}",
        admin_password=secrets.token_hex(16),
        bot_user="Fleetbot",
        bot_app="fleet",
        bot_password=first,
        web_user=None,
    )
    with anyio.fail_after(240):
        steps = await anyio.to_thread.run_sync(provision, setup)
        assert steps[0] == "installed MediaWiki"
        settings = (data / "LocalSettings.php").read_text()
        assert "$wgEnableBotPasswords = true;" in settings
        # second run: no reinstall, the same settings file, a rotated bot password takes over
        rotated = secrets.token_hex(16)
        again = await anyio.to_thread.run_sync(provision, replace(setup, bot_password=rotated))
        assert "installed MediaWiki" not in again
        assert (data / "LocalSettings.php").read_text() == settings
        proc = _serve(data, port)
        try:
            await anyio.sleep(0.5)
            assert await _bot_can_edit(f"http://127.0.0.1:{port}", rotated)
            with pytest.raises(Exception, match=r"(?i)login|password|wrong"):
                await _bot_can_edit(f"http://127.0.0.1:{port}", first)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_bad_input_is_refused_before_any_php_runs(tmp_path: Path) -> None:
    base = WikiProvision(
        mediawiki_dir=mediawiki_dir(),
        data_dir=tmp_path,
        server="http://x",
        admin_password="a" * 32,
        bot_user="Fleetbot",
        bot_app="fleet",
        bot_password="b" * 32,
        php="/nonexistent/php",
    )
    with pytest.raises(ProvisionError, match="bot app id"):
        provision(replace(base, bot_app="x'; DROP TABLE user; --"))
    with pytest.raises(ProvisionError, match="at least 32 characters"):
        provision(replace(base, bot_password="-short"))
    assert not (tmp_path / "LocalSettings.php").exists()
