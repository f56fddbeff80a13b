"""A throwaway PostgreSQL cluster from the system's binaries (initdb + pg_ctl), on a free loopback port.

Used when no database URL is configured: by `fleet-db` itself, by `fleet dev` (fleet_db.dev) and by the tests.
PostgreSQL refuses to run as root, so under root the cluster runs as the `postgres` system user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fleet_core import Reaper, free_port

__all__ = ["EmbeddedPostgres", "EmbeddedUnavailable", "find_bindir"]

SUPERUSER = "fleet_admin"
INSTALL_HINT = (
    "install PostgreSQL (Debian: apt-get install postgresql postgresql-contrib) or set FLEET_DB_DATABASE_URL"
)


class EmbeddedUnavailable(RuntimeError):
    """No usable PostgreSQL binaries here; the message says what to install."""


def find_bindir() -> Path:
    """initdb/pg_ctl/postgres: `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(  # noqa: S603 - pg_config found on PATH
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            )
            candidates.append(Path(out.stdout.strip()))
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    candidates += [Path(p) for p in versions]
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise EmbeddedUnavailable(f"no PostgreSQL server binaries (initdb, pg_ctl) found: {INSTALL_HINT}")


class EmbeddedPostgres:
    """`with EmbeddedPostgres() as pg: pg.admin_url` — a superuser URL on 127.0.0.1; removed on exit."""

    def __init__(self, workdir: Path | None = None, *, port: int | None = None) -> None:
        self.bindir = find_bindir()
        self._as_root = os.geteuid() == 0
        self._run_as: pwd.struct_passwd | None = None
        if self._as_root:
            try:
                self._run_as = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise EmbeddedUnavailable(
                    f"running as root needs the 'postgres' system user: {INSTALL_HINT}"
                ) from exc
        # Under root the data dir must be reachable by the postgres user, and pytest/`fleet dev` work dirs
        # are often 0700 root-owned: then use a fresh dir in the system temp dir instead.
        base = workdir if workdir is not None and not self._as_root else None
        self.root = Path(tempfile.mkdtemp(prefix="fleet-pg-", dir=base))
        self.datadir = self.root / "data"
        self.port = port or free_port()
        self.password = secrets.token_urlsafe(24)
        self._started = False
        self._reaper: Reaper | None = None

    @property
    def admin_url(self) -> str:
        return self.url(SUPERUSER, self.password)

    def url(self, user: str, password: str, dbname: str = "postgres") -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{dbname}"

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._run_as is not None:
            cmd = ["runuser", "-u", self._run_as.pw_name, "--", *cmd]
        return cmd

    def _run(self, *args: str, timeout: float = 60) -> None:
        cmd = self._cmd(*args)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
        if proc.returncode != 0:
            raise EmbeddedUnavailable(f"{args[0]} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")

    def init(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self._run_as is not None:
            for path in (self.root, pwfile):
                os.chown(path, self._run_as.pw_uid, self._run_as.pw_gid)
            self.root.chmod(0o700)
        self._run(
            "initdb", "-D", str(self.datadir), "-U", SUPERUSER, f"--pwfile={pwfile}", "--auth=scram-sha-256",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        pwfile.unlink()
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": "''",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "60",
            "shared_buffers": "32MB",
            "shared_preload_libraries": "'pg_stat_statements'",
            "logging_collector": "off",
        }
        with (self.datadir / "postgresql.auto.conf").open("a") as f:
            f.writelines(f"{key} = {value}\n" for key, value in conf.items())

    def start(self) -> None:
        if self._reaper is None:
            # pg_ctl daemonizes the server: if this process is killed outright, nothing else stops it
            stop = self._cmd("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "-t", "10", "stop")
            self._reaper = Reaper(commands=[stop], rmtree=[str(self.root)]).start()
        if not self.datadir.exists():
            self.init()
        self._run(
            "pg_ctl", "-D", str(self.datadir), "-l", str(self.root / "server.log"), "-w", "-t", "60", "start"
        )
        self._started = True

    def stop(self, mode: str = "fast") -> None:
        if self._started:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "-t", "60", "stop")
            self._started = False

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        try:
            self.stop(mode="immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> EmbeddedPostgres:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


@contextlib.contextmanager
def embedded_postgres(workdir: Path | None = None) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(workdir) as pg:
        yield pg
