"""fleet_gitea.provision (the compose stack's gitea-init job) against a fake of Gitea's admin CLI, built from
its source (cmd/admin_user_create.go, admin_user_list.go, admin_user_generate_access_token.go): flags,
output shapes and refusals as there."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from fleet_gitea.provision import SCOPES, GiteaProvision, ProvisionError, _run, main, provision
from fleet_gitea.settings import GiteaSettings

FAKE_GITEA = r'''#!PYTHON
"""Gitea's admin CLI for the three subcommands gitea-init uses, on a JSON file instead of a database."""
import json, os, secrets, sys
state_file = os.environ["FAKE_GITEA_STATE"]
state = json.load(open(state_file)) if os.path.exists(state_file) else {"users": {}, "tokens": []}
args = sys.argv[1:]
state.setdefault("calls", []).append(args)
def flag(name):
    return args[args.index(name) + 1] if name in args else None
def save():
    json.dump(state, open(state_file, "w"))
if args[:3] == ["admin", "user", "list"]:
    print("ID   Username  Email                    IsActive")
    for i, (name, user) in enumerate(state["users"].items(), 1):
        if user["admin"] or "--admin" not in args:
            print(f"{i}    {name}  {user['email']}  true")
elif args[:3] == ["admin", "user", "create"]:
    name = flag("--username")
    if "--password" not in args and "--random-password" not in args:
        sys.exit("must set either password or random-password flag")
    if name in state["users"]:
        save(); sys.exit(f"CreateUser: user already exists [name: {name}]")
    state["users"][name] = {"email": flag("--email"), "admin": "--admin" in args,
                            "must_change": "--must-change-password=false" not in args}
    print(f"generated random password is '{secrets.token_hex(6)}'")
    print(f"New user '{name}' has been successfully created!")
elif args[:3] == ["admin", "user", "generate-access-token"]:
    name, token_name = flag("--username"), flag("--token-name") or "gitea-admin"
    if name not in state["users"]:
        save(); sys.exit("user does not exist")
    if [name, token_name] in [t[:2] for t in state["tokens"]]:
        save(); sys.exit("access token name has been used already")
    token = secrets.token_hex(20)
    state["tokens"].append([name, token_name, flag("--scopes"), token])
    print(token if "--raw" in args else f"Access token was successfully created: {token}")
else:
    save(); sys.exit("unknown command")
save()
'''


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    script = tmp_path / "gitea"
    script.write_text(FAKE_GITEA.replace("PYTHON", sys.executable))
    script.chmod(0o755)
    state = tmp_path / "state.json"
    monkeypatch.setenv("FAKE_GITEA_STATE", str(state))
    config = tmp_path / "app.ini"
    config.write_text("[security]\nINSTALL_LOCK = true\n")
    return script, state


def setup_for(tmp_path: Path, script: Path) -> GiteaProvision:
    return GiteaProvision(
        token_file=tmp_path / "token" / "token", gitea=str(script), config_file=tmp_path / "app.ini"
    )


def test_creates_the_admin_once_and_keeps_its_token(tmp_path: Path, fake: tuple[Path, Path]) -> None:
    script, state_file = fake
    p = setup_for(tmp_path, script)
    first = provision(p)
    assert first[0] == "created site admin fleet-bot"
    state = json.loads(state_file.read_text())
    assert state["users"] == {
        "fleet-bot": {"email": "fleet-bot@fleet.invalid", "admin": True, "must_change": False}
    }
    ((user, _, scopes, token),) = state["tokens"]
    assert (user, scopes) == ("fleet-bot", SCOPES)
    assert "admin" not in scopes.split(",")  # Sudo needs an admin account, not the admin scope
    assert p.token_file.read_text() == token + "\n"
    assert stat.S_IMODE(p.token_file.stat().st_mode) == 0o644
    # idempotent: the account exists, the token is kept, no second token is made
    again = provision(p)
    assert again == ["site admin fleet-bot exists", f"token kept ({p.token_file})"]
    assert len(json.loads(state_file.read_text())["tokens"]) == 1
    # a lost token file: a new token, under a new name (Gitea refuses a name used before)
    p.token_file.unlink()
    provision(p)
    tokens = json.loads(state_file.read_text())["tokens"]
    assert len(tokens) == 2
    assert p.token_file.read_text() == tokens[1][3] + "\n"


def test_waits_for_giteas_first_start_then_gives_up_clearly(tmp_path: Path, fake: tuple[Path, Path]) -> None:
    script, _ = fake
    config = tmp_path / "app.ini"
    config.unlink()
    p = GiteaProvision(token_file=tmp_path / "t", gitea=str(script), config_file=config, wait_seconds=3)
    slept: list[float] = []
    with pytest.raises(ProvisionError, match="did not appear: is the gitea service running"):
        provision(p, sleep=slept.append)
    assert slept == [1.0, 1.0, 1.0]

    def start_gitea(seconds: float) -> None:
        config.write_text("")

    assert provision(p, sleep=start_gitea)[0] == "created site admin fleet-bot"


def test_nothing_secret_is_printed_and_failures_name_the_step(
    tmp_path: Path,
    fake: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script, _ = fake
    p = setup_for(tmp_path, script)
    # main() as the job runs it, with the fake CLI and this config file instead of the image's
    monkeypatch.setattr("fleet_gitea.provision.GiteaProvision", lambda **kw: setup_for(tmp_path, script))
    main()
    out = capsys.readouterr().out
    token = p.token_file.read_text().strip()
    assert token not in out
    assert "generated random password" not in out
    assert "gitea-init: created site admin fleet-bot" in out
    with pytest.raises(ProvisionError, match="username"):
        provision(
            GiteaProvision(token_file=tmp_path / "x", username="bad name\n", config_file=tmp_path / "app.ini")
        )
    broken = GiteaProvision(token_file=tmp_path / "y", gitea="/bin/false", config_file=tmp_path / "app.ini")
    slept: list[float] = []
    with pytest.raises(ProvisionError, match="list admins failed"):
        provision(broken, sleep=slept.append)
    assert len(slept) == 180  # retried for wait_seconds, then gave up with the step's name


def test_the_server_reads_the_token_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("0123456789abcdef0123456789abcdef01234567\n")
    settings = GiteaSettings(
        trust_mode="insecure-dev",
        url="http://gitea:3000",
        token_file=path,
    )
    assert settings.token.get_secret_value() == "0123456789abcdef0123456789abcdef01234567"
    with pytest.raises(ValueError, match="cannot read token_file"):
        GiteaSettings(trust_mode="insecure-dev", token_file=tmp_path / "missing")


def test_retries_while_gitea_is_still_creating_its_database(tmp_path: Path, fake: tuple[Path, Path]) -> None:
    script, _ = fake
    p = setup_for(tmp_path, script)
    calls: list[list[str]] = []

    def early(argv: list[str]) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        if len(calls) <= 2:  # no tables yet
            return subprocess.CompletedProcess(argv, 1, "", "no such table: user")
        return _run(argv)

    slept: list[float] = []
    assert provision(p, run=early, sleep=slept.append)[0] == "created site admin fleet-bot"
    assert slept == [1.0, 1.0]
