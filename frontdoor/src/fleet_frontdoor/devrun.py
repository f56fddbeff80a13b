"""`fleet dev`: the whole fleet on this machine — authorization server, gateway, every enabled server.

Each component is a subprocess with its output in `.fleet/logs/<name>.log`. Each server's dev
backend comes from its `fleet_<name>.dev.backend(workdir)` hook, run here; a server whose backend
can't start is shown as unavailable with the hook's message and the rest keeps running.
Start-up is readiness-checked (health endpoints polled with a deadline) and timed; Ctrl-C stops all.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx2
from anyio.abc import Process
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from fleet_core import DevBackendUnavailable, env_prefix, package_name, pid_alive

from .manifest import Manifest, ServerEntry
from .topology import gateway_secret_var, trust_settings

__all__ = ["DevFleet", "try_commands"]

READY_DEADLINE = 60.0  # seconds a component may take to answer its health check
STOP_GRACE = 5.0
STYLE = {"starting": "yellow", "ready": "green", "unavailable": "magenta", "failed": "red", "stopped": "dim"}


@dataclass
class Component:
    name: str
    role: str
    url: str
    health: str
    status: str = "starting"
    detail: str = ""
    pid: int | None = None

    @property
    def settled(self) -> bool:
        return self.status != "starting"


def _env_name(server: ServerEntry) -> str:
    return env_prefix(server.name)


def _port_free(url: str) -> bool:
    """True when a server could listen on the URL's port now. SO_REUSEADDR, as every server sets it:
    the connections of a fleet stopped a moment ago linger in TIME_WAIT and must not count as busy."""
    parts = urlsplit(url)
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((parts.hostname or "127.0.0.1", parts.port or 80))
        except OSError:
            return False
    return True


RUN_ENV = "FLEET_DEV_RUN"  # "<state dir>\t<pid of fleet dev>"


def _leftovers(state_dir: Path) -> dict[int, str]:
    """Processes (pid → command line) started by a `fleet dev` on this state dir that is gone (Linux)."""
    found: dict[int, str] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            marks = [v for v in environ if v.startswith(RUN_ENV.encode() + b"=")]
            if not marks:
                continue
            where, _, owner = marks[0].split(b"=", 1)[1].decode().partition("\t")
            if where != str(state_dir) or not owner.isdigit() or pid_alive(int(owner)):
                continue
            found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeError):  # gone meanwhile, or not readable
            continue
    return found


def remove_leftovers(state_dir: Path, grace: float = 3.0) -> int:
    """Stop what a previous `fleet dev` on `state_dir` left when it was killed outright and its
    watchdogs (fleet_core.Reaper) were too: TERM, then KILL after `grace`; remove their PostgreSQL
    data dirs. Returns how many processes there were."""
    left = _leftovers(state_dir)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(pid_alive(pid) for pid in left) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    for cmdline in left.values():
        parts = cmdline.split()
        if "-D" in parts[:-1]:
            data = Path(parts[parts.index("-D") + 1])
            if data.parent.name.startswith("fleet-pg-"):
                shutil.rmtree(data.parent, ignore_errors=True)
    return len(left)


def _server_command(name: str) -> list[str]:
    script = Path(sys.executable).parent / f"fleet-{name}"
    if script.is_file():
        return [str(script)]
    found = shutil.which(f"fleet-{name}")
    return [found] if found else [sys.executable, "-m", package_name(name)]


def try_commands(manifest: Manifest, server: ServerEntry | None = None) -> list[str]:
    """The next commands to try, for the status table and the docs."""
    server = server or manifest.enabled_servers[0]
    call = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}'
    return [
        f"curl -si -X POST {server.resource}    # 401 + WWW-Authenticate challenge",
        f"curl -s {server.prm_url}    # protected resource metadata",
        f'TOKEN=$(uv run fleet dev token --user alice --scope "{server.read_scope}")',
        f'curl -s {server.resource} -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" '
        '-H "Accept: application/json, text/event-stream" -H "MCP-Protocol-Version: 2025-11-25" '
        f"-d '{call}'",
    ]


@dataclass
class DevFleet:
    manifest: Manifest
    manifest_path: Path
    state_dir: Path
    console: Console = field(default_factory=Console)
    live: bool = True
    allow_loopback_cimd: bool = False
    components: dict[str, Component] = field(default_factory=dict)
    ready_seconds: float | None = None

    def __post_init__(self) -> None:
        self.stop = anyio.Event()
        # one gateway secret per server: a compromised server can't impersonate callers at another
        self.secrets = {s.name: secrets.token_urlsafe(32) for s in self.manifest.enabled_servers}
        self.logs = self.state_dir / "logs"
        issuer, origin = self.manifest.issuer.url, self.manifest.gateway.origin
        self.components["auth"] = Component("auth", "authorization server", issuer, issuer + "/healthz")
        self.components["gateway"] = Component("gateway", "gateway", origin, origin + "/healthz")
        for server in self.manifest.enabled_servers:
            self.components[server.name] = Component(
                server.name, f"server → {server.upstream}", server.resource, server.upstream + "/readyz"
            )

    # ------------------------------------------------------------------ running

    async def run(self) -> int:
        self.logs.mkdir(parents=True, exist_ok=True)
        left = await anyio.to_thread.run_sync(remove_leftovers, self.state_dir)
        if left:
            self._line(f"fleet dev: stopped {left} process(es) a previous `fleet dev` left running")
        # inherited by everything this run starts, the backends included (a daemonized PostgreSQL too),
        # so the next run can find what this one leaves if it is killed outright (remove_leftovers)
        os.environ[RUN_ENV] = f"{self.state_dir}\t{os.getpid()}"
        busy = [c for c in ("auth", "gateway") if not _port_free(self.components[c].url)]
        busy += [s.name for s in self.manifest.enabled_servers if not _port_free(s.upstream)]
        if busy:
            ports = ", ".join(f"{n} ({urlsplit(self.components[n].health).netloc})" for n in busy)
            message = f"fleet dev: ports already in use: {ports}. Is `fleet dev` running?{self._stale()}"
            self.console.print(Text(message, style="red"), soft_wrap=True)
            return 1
        self.started = time.monotonic()
        base = {**os.environ, "FLEET_MANIFEST": str(self.manifest_path)}
        auth_cmd = [sys.executable, "-m", "fleet_frontdoor.authserver", "--manifest", str(self.manifest_path)]
        auth_cmd += ["--state-dir", str(self.state_dir / "authserver")]
        if self.allow_loopback_cimd:
            auth_cmd.append("--allow-loopback-cimd")
        gateway_cmd = [sys.executable, "-m", "fleet_frontdoor.gateway", "--manifest", str(self.manifest_path)]
        # the receiver stays installed through the shutdown below, so a second Ctrl-C can't interrupt
        # the cleanup half-way
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._watch_signals, signals)
                tg.start_soon(self._run_process, self.components["auth"], auth_cmd, base)
                tg.start_soon(
                    self._run_process, self.components["gateway"], gateway_cmd, base | self._gw_env()
                )
                for server in self.manifest.enabled_servers:
                    tg.start_soon(self._run_server, server, base)
                await self._display()
                tg.cancel_scope.cancel()  # every runner terminates its process and leaves its backend
        for comp in self.comps:
            if comp.status in ("ready", "starting"):
                comp.status = "stopped"
        self._write_state()
        self._line("fleet dev: stopped")
        return 0

    def _stale(self) -> str:
        """Processes a previous `fleet dev` recorded that are still alive (e.g. after a kill -9)."""
        try:
            state = json.loads((self.state_dir / "dev.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return ""
        pids = [state.get("pid")] + [c.get("pid") for c in state.get("components", {}).values()]
        alive = []
        for pid in pids:
            if isinstance(pid, int) and pid != os.getpid():
                with contextlib.suppress(OSError):
                    os.kill(pid, 0)
                    alive.append(str(pid))
        return f" Still running from a previous `fleet dev`: pids {' '.join(alive)}." if alive else ""

    def _gw_env(self) -> dict[str, str]:
        return {gateway_secret_var(s): self.secrets[s.name] for s in self.manifest.enabled_servers}

    def _server_env(self, server: ServerEntry) -> dict[str, str]:
        """The production topology (topology.py): jwt trust + this server's own gateway secret."""
        prefix, upstream = _env_name(server), urlsplit(server.upstream)
        trust = trust_settings(self.manifest, server, self.secrets[server.name])
        return {
            prefix + "HOST": upstream.hostname or "127.0.0.1",
            prefix + "PORT": str(upstream.port or 80),
            **{prefix + key: value for key, value in trust.items()},
        }

    async def _watch_signals(self, signals: AsyncIterator[int]) -> None:
        async for _ in signals:
            self.stop.set()

    async def _run_server(self, server: ServerEntry, base: dict[str, str]) -> None:
        comp = self.components[server.name]
        try:
            hook = importlib.import_module(f"{package_name(server.name)}.dev").backend
        except (ImportError, AttributeError) as exc:
            self._unavailable(comp, f"no dev hook {package_name(server.name)}.dev.backend ({exc})")
            return
        workdir = self.state_dir / server.name
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            async with hook(workdir) as extra:
                env = base | self._server_env(server) | dict(extra)
                await self._run_process(comp, _server_command(server.name), env)
        except DevBackendUnavailable as exc:
            self._unavailable(comp, str(exc))
        except Exception as exc:  # a broken hook must not take the rest of the fleet down
            self._unavailable(comp, f"dev backend failed: {exc.__class__.__name__}: {exc}")

    def _unavailable(self, comp: Component, message: str) -> None:
        """Show the first line; the whole message goes to the component's log."""
        log = self.logs / f"{comp.name}.log"
        with log.open("a", encoding="utf-8") as out:
            out.write(f"fleet dev: {comp.name} unavailable:\n{message}\n")
        first = next((line.strip() for line in message.splitlines() if line.strip()), "unavailable")
        if len(first) > 160:
            first = first[:157] + "..."
        more = "" if first == message.strip() else f" (more in {_rel(log)})"
        comp.status, comp.detail = "unavailable", first + more

    async def _run_process(self, comp: Component, argv: list[str], env: dict[str, str]) -> None:
        log = self.logs / f"{comp.name}.log"
        with log.open("ab") as out:
            # same process group as `fleet dev`: if the terminal goes away, the children go with it
            # FLEET_PARENT_PID: children exit even if `fleet dev` is killed outright (die_with_parent)
            env = env | {"FLEET_PARENT_PID": str(os.getpid())}
            process = await anyio.open_process(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        comp.pid = process.pid
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._wait_exit, comp, process, log, tg.cancel_scope)
                await self._wait_ready(comp)
                await self.stop.wait()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await _terminate(process)
            if comp.status in ("ready", "starting"):
                comp.status = "stopped"

    async def _wait_exit(
        self, comp: Component, process: Process, log: Path, scope: anyio.CancelScope
    ) -> None:
        code = await process.wait()
        if not self.stop.is_set():
            comp.status, comp.detail = "failed", f"exited with code {code}; see {_rel(log)}"
            scope.cancel()

    async def _wait_ready(self, comp: Component) -> None:
        deadline = time.monotonic() + READY_DEADLINE
        last = "no answer yet"
        async with httpx2.AsyncClient(timeout=2.0, trust_env=False) as http:
            while time.monotonic() < deadline and not self.stop.is_set():
                try:
                    response = await http.get(comp.health)
                    if response.status_code == 200:
                        took = time.monotonic() - self.started
                        comp.status = "ready"
                        comp.detail = f"{comp.detail} (ready after {took:.1f} s)".strip()
                        return
                    last = f"{response.status_code} {response.text[:120]}"
                except httpx2.HTTPError as exc:
                    last = exc.__class__.__name__
                await anyio.sleep(0.05)
        comp.status, comp.detail = "failed", f"not ready after {READY_DEADLINE:.0f} s: {last}"

    # ------------------------------------------------------------------ showing

    async def _display(self) -> None:
        if self.live and self.console.is_terminal:
            with Live(self._render(), console=self.console, refresh_per_second=4, transient=False) as live:
                while not self._finished():
                    self._mark_ready()
                    live.update(self._render())
                    await anyio.sleep(0.1)
                live.update(self._render())
            return
        seen: dict[str, str] = {}
        while not self._finished():
            for comp in self.components.values():
                if seen.get(comp.name) != comp.status:
                    seen[comp.name] = comp.status
                    self._line(f"{comp.name}: {comp.status} {comp.url} {comp.detail}".rstrip())
            if self._mark_ready():
                self._print_summary()
            await anyio.sleep(0.05)

    def _line(self, text: str) -> None:
        self.console.print(Text(text), soft_wrap=True)

    def _finished(self) -> bool:
        return self.stop.is_set()

    @property
    def comps(self) -> list[Component]:
        return list(self.components.values())

    def _mark_ready(self) -> bool:
        """Record the time-to-ready once every component has settled; True the first time."""
        if self.ready_seconds is not None or not all(c.settled for c in self.comps):
            return False
        self.ready_seconds = time.monotonic() - self.started
        self._write_state()
        self._line(f"fleet dev: ready in {self.ready_seconds:.1f} s")
        return True

    def _write_state(self) -> None:
        state = {
            "pid": os.getpid(),
            "ready_seconds": self.ready_seconds,
            "components": {c.name: {"url": c.url, "status": c.status, "pid": c.pid} for c in self.comps},
        }
        (self.state_dir / "dev.json").write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")

    def _summary_lines(self) -> list[Text]:
        lines = [Text("Dev users (fleet dev token --user NAME --scope SCOPE):", style="bold")]
        width = max((len(u.name) for u in self.manifest.dev.users), default=0)
        for user in self.manifest.dev.users:
            lines.append(Text.assemble((user.name.ljust(width), "bold"), "  ", " ".join(user.scopes)))
        for client in self.manifest.clients:
            if client.secret_env is None:
                continue
            if client.secret():
                line = f"Client credentials: {client.client_id} (secret from ${client.secret_env})"
                lines.append(Text(line))
            else:
                line = (
                    f"Client credentials: {client.client_id} is off: ${client.secret_env} is not set. "
                    f"To use it, restart with {client.secret_env}=<a secret> and give fleet-client "
                    "the same value (client/README.md, 'Client credentials')"
                )
                lines.append(Text(line, style="yellow"))
        ready = [s for s in self.manifest.enabled_servers if self.components[s.name].status == "ready"]
        lines.append(Text("Try:", style="bold"))
        lines += [Text("  " + line) for line in try_commands(self.manifest, ready[0] if ready else None)]
        lines.append(Text(f"Logs: {_rel(self.logs)}/   Ctrl-C stops everything.", style="dim"))
        return lines

    def _summary(self) -> Group:
        return Group(*(line.copy() for line in self._summary_lines()))

    def _print_summary(self) -> None:
        """Not a terminal (a log, a pipe): one line each, never wrapped, so the commands can be copied."""
        for line in self._summary_lines():
            self.console.print(line, soft_wrap=True)

    def _render(self) -> Group:
        title = "mcp-fleet dev"
        if self.ready_seconds is not None:
            title += f" — ready in {self.ready_seconds:.1f} s"
        if self.stop.is_set():
            title += " — stopping"
        table = Table(title=title, title_justify="left", expand=False)
        table.add_column("component", no_wrap=True)
        table.add_column("url", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("detail", overflow="fold")
        for comp in self.comps:
            status = Text(comp.status, style=STYLE.get(comp.status, ""))
            table.add_row(comp.name, comp.url, status, comp.detail or comp.role)
        return Group(table, self._summary())


def _rel(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


async def _terminate(process: Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        with anyio.move_on_after(STOP_GRACE):
            await process.wait()
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    await process.aclose()
