"""The OAuth clients of fleet.toml registered in AuthGate, idempotently (the stack's `authgate-init` job).

Standard library only: it runs with python3 in its own small image (gateway/authgate-init.Dockerfile) and
talks to AuthGate over the private `authgate-admin` network.

Why the admin web UI's own HTTP endpoints: the pinned AuthGate (go-authgate/authgate v0.30.0, commit
f32c5b9) has no other way to make an active client with chosen grants and scopes. `main.go` knows one
subcommand (`server`); the store's seed (`internal/store/sqlite.go` `seedData`) makes only the admin and
one "AuthGate CLI" client; dynamic registration (`POST /oauth/register`, `handlers/registration.go`) makes
*pending* clients limited to OIDC scopes. The admin routes (`internal/bootstrap/router.go`, group
`/admin`: RequireAuth + RequireAdmin + CSRFMiddleware) call the same `services.ClientService` as a person
clicking, so AuthGate itself validates the client, generates its id and secret, audits and invalidates its
cache. Writing AuthGate's tables instead would skip all of that and tie the job to its GORM schema.

The calls, exactly as the handlers parse them (v0.30.0):

1. `GET /health` until 200 (`router.go` `createHealthCheckHandler`).
2. `POST /login` `username`, `password` (`handlers/auth.go` `Login`; no CSRF on this route): 302 and the
   `oauth_session` cookie (gin-contrib/sessions cookie store). Every later response may re-set it.
3. `GET /admin/clients/new`: the form's hidden `csrf_token` (`middleware/csrf.go`: one token per session,
   checked on every POST as the `csrf_token` form field).
4. per client, `GET /admin/clients/<id>` (200, or 404 "Client not found") for a recorded id, else
   `GET /admin/clients?search=<name>&page_size=50` to adopt one made before (rows: the name in
   `strong.client-name-title`, the id in `code.copyable-value-text`, `templates/admin_clients.templ`);
5. create: `POST /admin/clients` with `client_name description client_type scopes redirect_uris
   enable_device_flow enable_auth_code_flow enable_client_credentials_flow token_profile project
   service_account` (`handlers/client.go` `CreateClient`; flags are the string `true`, redirect URIs one per
   line): 200 and the page showing the generated id (`code.copyable-value-text`) and, once, the secret
   (`#clientSecret`, `templates/admin_client_created.templ`); 400 and the form with an alert on a refusal;
6. update (when fleet.toml changed, or on adoption): `POST /admin/clients/<id>` with the same fields and
   `status=active` (`UpdateClient`): 302;
7. a confidential client whose secret file is missing: `POST /admin/clients/<id>/regenerate-secret`: 200
   and the new secret once in `#clientSecret` (`templates/client_shared.templ` `SecretRegeneratedCard`).

What it writes to its directory (`./.secrets/authgate-clients` on the host, 0700 from `fleet stack init`),
owned like the directory, never printed: `clients.json` (each client's generated id, type, grants, scopes,
redirect URIs and the resources it is meant for; no secret) and `<name>.secret` (0600) per confidential
client, for `fleet stack verify --clients` and for the operator to hand to the CI system.

Not registrable on v0.30.0: per-client allowed resources (RFC 8707). `models.OAuthApplication` has no such
field and the client form none; the resources are recorded in clients.json (gateway/README.md, F6).

    python3 authgate_init.py   # reads FLEET_AUTHGATE_* and FLEET_GATEWAY_ORIGIN (see main())
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

__all__ = [
    "AdminSession",
    "ClientSpec",
    "InitError",
    "main",
    "register_clients",
]

USER_AGENT = "fleet-authgate-init/1"  # constant: AuthGate's session fingerprint includes the User-Agent
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # also the secret file's name
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


class InitError(Exception):
    """A step failed; the message names it (never a password or secret)."""


@dataclass(frozen=True)
class ClientSpec:
    """One client of fleet.toml as AuthGate should hold it (compose.py renders the list)."""

    name: str  # fleet.toml's client_id: AuthGate's client name (AuthGate generates the id)
    description: str
    type: str  # "public" | "confidential"
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()  # resource paths (/mcp/<name>); the gateway origin is added at run time

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClientSpec:
        spec = cls(
            name=str(data["name"]),
            description=str(data.get("description", "")),
            type=str(data["type"]),
            grant_types=tuple(data.get("grant_types", ())),
            scopes=tuple(data.get("scopes", ())),
            redirect_uris=tuple(data.get("redirect_uris", ())),
            resources=tuple(data.get("resources", ())),
        )
        if not _NAME.fullmatch(spec.name):
            raise InitError(f"client name {spec.name!r}: letters, digits, '.', '_' and '-' only")
        if spec.type not in ("public", "confidential"):
            raise InitError(f"client {spec.name}: type must be public or confidential")
        return spec

    @property
    def confidential(self) -> bool:
        return self.type == "confidential"

    def form(self) -> dict[str, str]:
        """The client form's fields (handlers/client.go CreateClient / UpdateClient)."""
        flag = {True: "true", False: ""}
        return {
            "client_name": self.name,
            "description": self.description,
            "client_type": self.type,
            "scopes": " ".join(self.scopes),
            "redirect_uris": "\n".join(self.redirect_uris),
            "enable_device_flow": flag[_DEVICE_GRANT in self.grant_types],
            "enable_auth_code_flow": flag["authorization_code" in self.grant_types],
            "enable_client_credentials_flow": flag["client_credentials" in self.grant_types],
            "token_profile": "standard",
            "project": "",
            "service_account": "",
        }

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.form(), sort_keys=True).encode()).hexdigest()


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: str

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")


class _Page(HTMLParser):
    """What the job reads from AuthGate's pages: hidden inputs, form field names, client names and ids,
    the one-time secret and alert texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inputs: dict[str, str] = {}
        self.fields: list[str] = []
        self.names: list[str] = []
        self.ids: list[str] = []
        self.secrets: list[str] = []
        self.alerts: list[str] = []
        self._into: list[str] | None = None
        self._depth = 0
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("input", "select", "textarea") and a.get("name"):
            self.fields.append(a["name"])
            if tag == "input" and a.get("type") == "hidden":
                self.inputs[a["name"]] = a.get("value", "")
        if self._into is not None:
            self._depth += tag not in _VOID
            return
        classes = a.get("class", "").split()
        target = None
        if tag == "strong" and "client-name-title" in classes:
            target = self.names
        elif tag == "code" and "copyable-value-text" in classes:
            target = self.ids
        elif a.get("id") == "clientSecret":
            target = self.secrets
        elif a.get("role") == "alert":
            target = self.alerts
        if target is not None:
            self._into, self._depth, self._text = target, 1, []

    def handle_endtag(self, tag: str) -> None:
        if self._into is None or tag in _VOID:
            return
        self._depth -= 1
        if self._depth == 0:
            self._into.append(" ".join("".join(self._text).split()))
            self._into = None

    def handle_data(self, data: str) -> None:
        if self._into is not None:
            self._text.append(data)


def parse(body: str) -> _Page:
    page = _Page()
    page.feed(body)
    page.close()
    return page


class AdminSession:
    """An admin's browser session at AuthGate, without the browser: the session cookie and CSRF token."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InitError(f"FLEET_AUTHGATE_URL {base_url!r} is not an http(s) URL")
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.timeout = timeout
        # sent on plain http inside the stack even when AuthGate marks it Secure (ENVIRONMENT=production):
        # this job's network reaches AuthGate only
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def request(self, method: str, path: str, form: Mapping[str, str] | None = None) -> Response:
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        connection = cls(self.host, self.port, timeout=self.timeout)
        headers = {"User-Agent": USER_AGENT, "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode({**form, "csrf_token": self.csrf} if self.csrf else dict(form))
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", "replace")
            pairs = answer.getheaders()
        except OSError as exc:
            raise InitError(f"{method} {path}: AuthGate unreachable ({exc.__class__.__name__})") from exc
        finally:
            connection.close()
        for key, value in pairs:
            if key.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                cookie_value = rest.split(";", 1)[0]
                if cookie_value and "max-age=0" not in value.lower().replace(" ", ""):
                    self.cookies[name.strip()] = cookie_value
                else:
                    self.cookies.pop(name.strip(), None)
        return Response(answer.status, pairs, text)

    def wait_healthy(self, wait_seconds: float, sleep: Callable[[float], None]) -> None:
        waited = 0.0
        while True:
            try:
                if self.request("GET", "/health").status == 200:
                    return
            except InitError:
                pass
            if waited >= wait_seconds:
                raise InitError("AuthGate's /health did not answer 200: is the authgate service running?")
            sleep(1.0)
            waited += 1.0

    def login(self, username: str, password: str) -> list[str]:
        """Log in and read the CSRF token; returns the client form's field names."""
        answer = self.request(
            "POST", "/login", {"username": username, "password": password, "redirect": "/admin/clients"}
        )
        if answer.status == 429:  # LOGIN_RATE_LIMIT (default 5 a minute)
            raise InitError(
                "AuthGate refused the admin login for now (HTTP 429, rate limit): run again later"
            )
        if answer.status != 302 or answer.header("Location").startswith("/login"):
            alert = "; ".join(parse(answer.body).alerts)
            raise InitError(
                f"admin login as {username!r} refused (HTTP {answer.status}{': ' + alert if alert else ''}): "
                "AUTHGATE_ADMIN_PASSWORD must be the admin's current password"
            )
        form = self.request("GET", "/admin/clients/new")
        if form.status != 200:
            raise InitError(f"the admin client form answered HTTP {form.status}: is {username!r} an admin?")
        page = parse(form.body)
        self.csrf = page.inputs.get("csrf_token", "")
        if not self.csrf:
            raise InitError("the admin client form carries no csrf_token")
        return page.fields


def _alert(answer: Response) -> str:
    alerts = parse(answer.body).alerts
    return alerts[0] if alerts else f"HTTP {answer.status}"


def _one(values: list[str], what: str, pattern: re.Pattern[str] | None = None) -> str:
    if len(values) != 1 or (pattern is not None and not pattern.fullmatch(values[0])):
        raise InitError(f"AuthGate's page shows no {what}")
    return values[0]


_SECRET = re.compile(r"^\S{16,}$")


def _exists(session: AdminSession, client_id: str) -> bool:
    answer = session.request("GET", f"/admin/clients/{client_id}")
    if answer.status in (200, 404):
        return answer.status == 200
    raise InitError(f"looking up client {client_id} failed: {_alert(answer)}")


def _find(session: AdminSession, name: str) -> list[str]:
    answer = session.request("GET", "/admin/clients?" + urlencode({"search": name, "page_size": "50"}))
    if answer.status != 200:
        raise InitError(f"searching the clients for {name!r} failed: {_alert(answer)}")
    page = parse(answer.body)
    if len(page.names) != len(page.ids):
        raise InitError("AuthGate's client list could not be read (names and ids differ in number)")
    return [cid for found, cid in zip(page.names, page.ids, strict=True) if found == name]


def _create(session: AdminSession, spec: ClientSpec) -> tuple[str, str | None]:
    answer = session.request("POST", "/admin/clients", spec.form())
    if answer.status != 200:
        raise InitError(f"creating client {spec.name} failed: {_alert(answer)}")
    page = parse(answer.body)
    client_id = _one(page.ids, "client id", _UUID)
    # AuthGate makes a secret for a public client too; it is never used, so never kept
    return client_id, _one(page.secrets, "client secret", _SECRET) if spec.confidential else None


def _update(session: AdminSession, client_id: str, spec: ClientSpec) -> None:
    answer = session.request("POST", f"/admin/clients/{client_id}", {**spec.form(), "status": "active"})
    if answer.status != 302:
        raise InitError(f"updating client {spec.name} failed: {_alert(answer)}")


def _regenerate(session: AdminSession, client_id: str, name: str) -> str:
    answer = session.request("POST", f"/admin/clients/{client_id}/regenerate-secret", {})
    if answer.status != 200:
        raise InitError(f"regenerating the secret of client {name} failed: {_alert(answer)}")
    return _one(parse(answer.body).secrets, "client secret", _SECRET)


def _write(directory: Path, name: str, text: str, mode: int) -> None:
    """Atomically, with `mode` from the start, owned like the directory (the operator's, on the host)."""
    tmp = directory / f".{name}.tmp"
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    if os.geteuid() == 0:  # the job runs as root in its container: hand the file to the directory's owner
        owner = directory.stat()
        os.chown(tmp, owner.st_uid, owner.st_gid)
    os.replace(tmp, directory / name)


def _load_state(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        clients = data["clients"]
        assert isinstance(clients, dict)
    except (ValueError, KeyError, AssertionError) as exc:
        raise InitError(f"{path} is not what authgate-init writes; move it away to start over") from exc
    return clients


def register_clients(
    session: AdminSession,
    specs: Iterable[ClientSpec],
    directory: Path,
    origin: str,
    *,
    form_fields: Iterable[str] = (),
) -> list[str]:
    """Converge AuthGate's clients on `specs` (logged-in `session`); returns what was done, no secret."""
    if not directory.is_dir():
        raise InitError(f"{directory} is missing: run `uv run fleet stack init` (it makes the directory)")
    state_file = directory / "clients.json"
    state = _load_state(state_file)
    steps: list[str] = []
    wanted = list(specs)
    for spec in wanted:
        record = state.get(spec.name, {})
        secret_file = directory / f"{spec.name}.secret"
        client_id = record.get("client_id")
        adopted = False
        if client_id and not _exists(session, str(client_id)):
            steps.append(
                f"{spec.name}: recorded client {client_id} is gone from AuthGate, registering it again"
            )
            client_id = None
        if not client_id:
            found = _find(session, spec.name)
            if len(found) > 1:
                raise InitError(
                    f"AuthGate has {len(found)} clients named {spec.name}: delete the extra ones in its "
                    "admin UI, then run authgate-init again"
                )
            if found:
                client_id, adopted = found[0], True
                steps.append(f"{spec.name}: adopted the existing client {client_id}")
        secret: str | None = None
        if not client_id:
            client_id, secret = _create(session, spec)
            steps.append(f"{spec.name}: registered as {client_id}")
        elif adopted or record.get("spec") != spec.fingerprint():
            _update(session, str(client_id), spec)
            steps.append(f"{spec.name}: settings converged on fleet.toml ({client_id})")
        else:
            steps.append(f"{spec.name}: up to date ({client_id})")
        if spec.confidential:
            if secret is None and (adopted or not _has_secret(secret_file)):
                secret = _regenerate(session, str(client_id), spec.name)
                steps.append(f"{spec.name}: new client secret (the old one no longer works)")
            if secret is not None:
                # the secret first: a lost clients.json only costs an adoption, a lost secret a new one
                _write(directory, secret_file.name, secret + "\n", 0o600)
                steps.append(f"{spec.name}: secret written to {secret_file.name}")
        state[spec.name] = {
            "client_id": client_id,
            "type": spec.type,
            "grant_types": list(spec.grant_types),
            "scopes": list(spec.scopes),
            "redirect_uris": list(spec.redirect_uris),
            "resources": [origin.rstrip("/") + path for path in spec.resources],
            "secret_file": secret_file.name if spec.confidential else None,
            "spec": spec.fingerprint(),
        }
        _write(directory, state_file.name, json.dumps({"clients": state}, indent=2) + "\n", 0o644)
    for gone in sorted(set(state) - {s.name for s in wanted}):
        steps.append(f"{gone}: no longer in fleet.toml; left in AuthGate (delete it in the admin UI)")
    resource_fields = sorted({f for f in form_fields if "resource" in f.lower()})
    if resource_fields:
        steps.append(
            f"this AuthGate's client form has {', '.join(resource_fields)}, which authgate-init does not "
            "fill: set each client's allowed resources from clients.json in the admin UI"
        )
    else:
        steps.append(
            "allowed resources: this AuthGate has no per-client allowed resources (recorded in clients.json)"
        )
    return steps


def _has_secret(path: Path) -> bool:
    return path.is_file() and bool(path.read_text(encoding="utf-8").strip())


def run(
    base_url: str,
    username: str,
    password: str,
    specs: list[ClientSpec],
    directory: Path,
    origin: str,
    *,
    wait_seconds: float = 180.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    session = AdminSession(base_url)
    session.wait_healthy(wait_seconds, sleep)
    fields = session.login(username, password)
    return register_clients(session, specs, directory, origin, form_fields=fields)


def main() -> None:
    env = os.environ
    try:
        password = env.get("FLEET_AUTHGATE_ADMIN_PASSWORD", "")
        if not password:
            raise InitError("FLEET_AUTHGATE_ADMIN_PASSWORD is not set")
        origin = env.get("FLEET_GATEWAY_ORIGIN", "")
        if not origin.startswith(("http://", "https://")):
            raise InitError("FLEET_GATEWAY_ORIGIN must be the gateway's public origin")
        try:
            raw = json.loads(env.get("FLEET_AUTHGATE_CLIENTS", ""))
        except ValueError as exc:
            raise InitError("FLEET_AUTHGATE_CLIENTS must be the JSON list compose.yaml carries") from exc
        specs = [ClientSpec.from_json(item) for item in raw]
        steps = run(
            env.get("FLEET_AUTHGATE_URL", "http://authgate:8080"),
            env.get("FLEET_AUTHGATE_ADMIN_USER", "admin"),
            password,
            specs,
            Path(env.get("FLEET_AUTHGATE_CLIENTS_DIR", "/run/fleet-authgate")),
            origin,
        )
        for step in steps:
            print(f"authgate-init: {step}")
    except InitError as exc:
        sys.exit(f"authgate-init: {exc}")


if __name__ == "__main__":
    main()
