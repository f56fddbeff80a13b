"""FAKE AuthGate: only the admin web UI calls `authgate-init` makes, built from AuthGate's source.

go-authgate/authgate v0.30.0 (commit f32c5b9), route by route as `internal/bootstrap/router.go` wires them:

- `GET /health` → 200 JSON (`createHealthCheckHandler`);
- `POST /login` (rate limited: `LOGIN_RATE_LIMIT` 5/min, no CSRF) → wrong password 401 and the login page
  with an alert; right → the session (`user_id`, and the fingerprint of the User-Agent:
  `SESSION_FINGERPRINT` defaults on) and 302 to `redirect` if it is a local path, else `/account/sessions`
  (`handlers/auth.go`);
- the `/admin` group: `RequireAuth` (no session → 302 `/login?redirect=…`; a fingerprint mismatch clears the
  session → 302 with `error=session_invalid`), `RequireAdmin` (403), `CSRFMiddleware` (a token per
  session, made on first use and saved in the session; a POST without the same `csrf_token` form field or
  `X-CSRF-Token` header → 403);
- `GET /admin/clients/new`; `GET /admin/clients?search=&page_size=` (`LIKE %search%` over name, client
  id and description, case-sensitive as on PostgreSQL; page size at most 50, `store/types/pagination.go`);
  `GET /admin/clients/:id` (404 "Client not found"); `POST /admin/clients`
  (`services.ClientService.CreateClient`: name required, client credentials only for confidential
  clients, authorization code needs a redirect URI, redirect URIs absolute http(s) without a fragment,
  default scopes "email profile", device flow when no flow is enabled, an unknown client type is
  confidential (`core.NormalizeClientType`), id `uuid.New()`, secret "ago_" + lower-case unpadded base32 of
  32 random bytes; 200 and the created page, 400 and the form with an alert); `POST /admin/clients/:id`
  (`UpdateClient`: the same checks, at least one flow, a valid status; 302);
  `POST /admin/clients/:id/regenerate-secret` (200 and the secret page).

Pages carry exactly the markup the job reads (hidden `csrf_token`, `strong.client-name-title`,
`code.copyable-value-text`, `#clientSecret`, `role="alert"`), as AuthGate's templ templates render it.
Sessions live in the fake (AuthGate signs them into the cookie): the difference is invisible to a client.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

__all__ = ["FakeAuthGate", "FakeClient", "running"]

SESSION_COOKIE = "oauth_session"


@dataclass
class FakeClient:
    client_id: str
    name: str
    description: str
    client_type: str
    scopes: str
    redirect_uris: list[str]
    device: bool
    auth_code: bool
    client_credentials: bool
    status: str
    token_profile: str
    secret: str
    created_by: str

    @property
    def grant_types(self) -> str:
        flows = [("device_code", self.device), ("authorization_code", self.auth_code)]
        flows.append(("client_credentials", self.client_credentials))
        return " ".join(name for name, on in flows if on)


@dataclass
class FakeAuthGate:
    admin_password: str
    production: bool = False  # ENVIRONMENT=production: Secure cookies
    users: dict[str, tuple[str, str, bool]] = field(default_factory=dict)  # name -> (id, password, admin)
    clients: dict[str, FakeClient] = field(default_factory=dict)
    sessions: dict[str, dict[str, str]] = field(default_factory=dict)
    logins: list[float] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    healthy: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        # store/sqlite.go seedData: the admin, and the default "AuthGate CLI" client
        admin_id = str(uuid.uuid4())
        self.users.setdefault("admin", (admin_id, self.admin_password, True))
        cli = self._new_client(
            {
                "client_name": "AuthGate CLI",
                "description": "Default CLI client for authorization flow",
                "scopes": "email profile",
                "redirect_uris": "http://localhost:8888/callback",
                "enable_device_flow": "true",
                "enable_auth_code_flow": "true",
            },
            admin_id,
        )
        assert isinstance(cli, FakeClient)
        self.clients[cli.client_id] = cli

    def check_secret(self, client_id: str, secret: str) -> bool:
        client = self.clients.get(client_id)
        return client is not None and secrets.compare_digest(client.secret, secret)

    # --- services.ClientService

    def _new_client(self, form: dict[str, str], user_id: str) -> FakeClient | str:
        values = _client_values(form)
        if isinstance(values, str):
            return values
        return FakeClient(
            client_id=str(uuid.uuid4()),
            created_by=user_id,
            secret=_secret(),
            status="active",  # admin-created
            **values,
        )

    def _update(self, client: FakeClient, form: dict[str, str]) -> str | None:
        values = _client_values(form, update=True)
        if isinstance(values, str):
            return values
        status = form.get("status", "")
        if status not in ("active", "inactive", "pending"):
            return 'status must be "active", "inactive", or "pending"'
        for key, value in values.items():
            setattr(client, key, value)
        client.status = status
        return None

    # --- HTTP

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: str
    ) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(target)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        with self.lock:
            self.requests.append((method, path))
            cookie = _cookies(headers.get("cookie", "")).get(SESSION_COOKIE, "")
            session = self.sessions.get(cookie)
            out: dict[str, str] = {}
            if method == "GET" and path == "/health":
                if not self.healthy:
                    return 503, out, json.dumps({"status": "unhealthy", "database": "disconnected"})
                return 200, out, json.dumps({"status": "healthy", "database": "connected"})
            if method == "POST" and path == "/login":
                return self._login(form, headers, out)
            if not path.startswith("/admin"):
                return 404, out, _page("404 page not found")
            # RequireAuth (+ SessionFingerprintMiddleware, which runs before it)
            if session is None or "user_id" not in session:
                return 302, {"Location": "/login?redirect=" + quote(target, safe="")}, ""
            if session.get("fingerprint") != headers.get("user-agent", ""):
                del self.sessions[cookie]
                out["Set-Cookie"] = self._cookie("", clear=True)
                location = "/login?redirect=" + quote(target, safe="") + "&error=session_invalid"
                return 302, {**out, "Location": location}, ""
            user = next((u for u in self.users.values() if u[0] == session["user_id"]), None)
            if user is None or not user[2]:
                return 403, out, _page(_alert("Admin access required"))
            # CSRFMiddleware
            if "csrf" not in session:
                session["csrf"] = base64.b64encode(secrets.token_bytes(32)).decode()
                out["Set-Cookie"] = self._cookie(cookie)
            if method == "POST":
                submitted = form.get("csrf_token") or headers.get("x-csrf-token", "")
                if not submitted or not secrets.compare_digest(submitted, session["csrf"]):
                    msg = "CSRF token validation failed. Please refresh the page and try again."
                    return 403, out, _page(_alert(msg))
            status, page = self._admin(method, path, query, form, session)
            if status == 302:
                out["Location"] = page
                page = ""
            return status, out, page

    def _cookie(self, value: str, *, clear: bool = False) -> str:
        attrs = "Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if self.production else "")
        return f"{SESSION_COOKIE}={value}; {'Max-Age=0' if clear else 'Max-Age=86400'}; {attrs}"

    def _login(
        self, form: dict[str, str], headers: dict[str, str], out: dict[str, str]
    ) -> tuple[int, dict[str, str], str]:
        now = time.monotonic()
        self.logins = [t for t in self.logins if now - t < 60] + [now]
        if len(self.logins) > 5:
            return 429, out, json.dumps({"error": "rate_limit_exceeded"})
        user = self.users.get(form.get("username", ""))
        if user is None or not secrets.compare_digest(user[1], form.get("password", "")):
            return 401, out, _page(_alert("Invalid username or password"))
        cookie = secrets.token_urlsafe(24)
        self.sessions[cookie] = {"user_id": user[0], "fingerprint": headers.get("user-agent", "")}
        redirect = form.get("redirect", "")
        safe = redirect.startswith("/") and not redirect.startswith("//")
        return (
            302,
            {"Set-Cookie": self._cookie(cookie), "Location": redirect if safe else "/account/sessions"},
            "",
        )

    def _admin(
        self, method: str, path: str, query: dict[str, str], form: dict[str, str], session: dict[str, str]
    ) -> tuple[int, str]:
        csrf = session["csrf"]
        segments = path.strip("/").split("/")
        if method == "GET" and segments == ["admin", "clients", "new"]:
            return 200, _form_page(csrf, "")
        if method == "GET" and segments == ["admin", "clients"]:
            return 200, self._list(query, csrf)
        if method == "POST" and segments == ["admin", "clients"]:
            made = self._new_client(form, session["user_id"])
            if isinstance(made, str):
                return 400, _form_page(csrf, made)
            self.clients[made.client_id] = made
            return 200, _created_page(made, csrf)
        if len(segments) >= 3 and segments[:2] == ["admin", "clients"]:
            client = self.clients.get(segments[2])
            if method == "GET" and len(segments) == 3:
                if client is None:
                    return 404, _page(_alert("Client not found"))
                return 200, _page(f"<h1>{html.escape(client.name)}</h1>" + _id(client.client_id))
            if method == "POST" and len(segments) == 3:
                if client is None:  # UpdateClient dereferences the missing client: gin's Recovery answers
                    return 500, ""
                problem = self._update(client, form)
                if problem:
                    return 400, _form_page(csrf, problem)
                return 302, f"/admin/clients/{client.client_id}?success=updated"
            if method == "POST" and segments[3:] == ["regenerate-secret"]:
                if client is None:
                    return 500, _page(_alert("Failed to regenerate secret: client not found"))
                client.secret = _secret()
                return 200, _page(f'<div class="secret-value" id="clientSecret">{client.secret}</div>')
        return 404, _page("404 page not found")

    def _list(self, query: dict[str, str], csrf: str) -> str:
        search = query.get("search", "")
        try:
            size = min(max(int(query.get("page_size", "10")), 1), 50)
        except ValueError:
            size = 10
        rows = [
            c
            for c in self.clients.values()
            # store/client.go: `client_name LIKE ? OR client_id LIKE ? OR description LIKE ?`, %search%;
            # case-sensitive on PostgreSQL, the stack's database
            if not search or any(search in v for v in (c.name, c.client_id, c.description))
        ][:size]
        cells = "".join(
            f'<tr><td><strong class="client-name-title">{html.escape(c.name)}</strong>'
            f'<div class="client-description">{html.escape(c.description)}</div></td>'
            f"<td>{_id(c.client_id)}</td><td><code>{c.grant_types}</code></td>"
            f'<td><form method="POST" action="/admin/clients/{c.client_id}/delete">'
            f'<input type="hidden" name="csrf_token" value="{html.escape(csrf)}"/></form></td></tr>'
            for c in rows
        )
        return _page(f"<table><tbody>{cells}</tbody></table>" if rows else "<h3>No clients found</h3>")


def _client_values(form: dict[str, str], *, update: bool = False) -> dict[str, Any] | str:
    name = form.get("client_name", "").strip()
    if not name:
        return "client name is required"
    raw_type = form.get("client_type", "")  # core.NormalizeClientType: anything unknown is confidential
    client_type = raw_type if raw_type in ("public", "confidential") else "confidential"
    device = form.get("enable_device_flow") == "true"
    auth_code = form.get("enable_auth_code_flow") == "true"
    cc = form.get("enable_client_credentials_flow") == "true"
    redirects = [
        u.strip() for u in form.get("redirect_uris", "").replace("\r", "\n").replace(",", "\n").split("\n")
    ]
    redirects = [u for u in redirects if u]
    if update and not (device or auth_code or cc):
        return "at least one grant type must be enabled"
    if cc and client_type != "confidential":
        return "client credentials flow requires a confidential client"
    if auth_code and not redirects:
        return "at least one redirect URI is required when Authorization Code Flow is enabled"
    for uri in redirects:
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            return f'invalid redirect URI: "{uri}" must be an absolute http(s) URI without a fragment'
    profile = form.get("token_profile", "").strip() or "standard"
    if profile not in ("short", "standard", "long"):
        return 'token profile must be "short", "standard", or "long"'
    scopes = form.get("scopes", "").strip()
    if not update:
        scopes = scopes or "email profile"
        device = device or not (auth_code or cc)
    return {
        "name": name,
        "description": form.get("description", "").strip(),
        "client_type": client_type,
        "scopes": scopes,
        "redirect_uris": redirects,
        "device": device,
        "auth_code": auth_code,
        "client_credentials": cc,
        "token_profile": profile,
    }


def _secret() -> str:
    return "ago_" + base64.b32encode(secrets.token_bytes(32)).decode().rstrip("=").lower()


def _cookies(header: str) -> dict[str, str]:
    pairs = (part.strip().partition("=") for part in header.split(";") if "=" in part)
    return {name: value for name, _, value in pairs}


def _page(content: str) -> str:
    return f"<!DOCTYPE html><html><head><title>AuthGate</title></head><body>{content}</body></html>"


def _alert(message: str) -> str:
    return f'<div class="alert alert-error" role="alert">{html.escape(message)}</div>'


def _id(client_id: str) -> str:
    return (
        f'<span class="copyable-value"><code class="copyable-value-text">{html.escape(client_id)}</code>'
        '<button type="button" class="copyable-value-btn" aria-label="Copy Client ID"></button></span>'
    )


def _form_page(csrf: str, error: str) -> str:
    fields = "".join(
        f'<input type="text" name="{n}"/>' for n in ("client_name", "project", "service_account")
    )
    fields += '<textarea name="description"></textarea><select name="client_type"></select>'
    for flag in ("enable_device_flow", "enable_auth_code_flow", "enable_client_credentials_flow"):
        fields += f'<input type="checkbox" name="{flag}" value="true"/>'
    fields += '<input type="hidden" name="scopes" value="email profile"/>'
    fields += '<input type="hidden" name="redirect_uris" value=""/><select name="token_profile"></select>'
    return _page(
        (_alert(error) if error else "")
        + f'<form method="POST" action="/admin/clients"><input type="hidden" name="csrf_token" '
        f'value="{html.escape(csrf)}"/>{fields}</form>'
    )


def _created_page(client: FakeClient, csrf: str) -> str:
    return _page(
        f'<div class="admin-success-banner">Client "<strong>{html.escape(client.name)}</strong>" has been '
        'created successfully!</div><div class="admin-secret-box">'
        f'<div class="admin-secret-value" id="clientSecret">{client.secret}</div></div>'
        f'<div class="admin-detail-row"><div class="admin-detail-label">Client ID</div>'
        f'<div class="admin-detail-value">{_id(client.client_id)}</div></div>'
        f'<form method="POST" action="/admin/clients"><input type="hidden" name="csrf_token" '
        f'value="{html.escape(csrf)}"/></form>'
    )


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAuthGate

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out, page = self.fake.handle(self.command, self.path, headers, body)
        data = page.encode()
        self.send_response(status)
        for key, value in out.items():
            self.send_header(key, value)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = _serve
    do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def running(fake: FakeAuthGate) -> Iterator[str]:
    """Serve `fake` on a loopback port (bound before it is returned); yields its base URL."""
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
