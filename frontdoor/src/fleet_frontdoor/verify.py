"""`fleet stack verify --origin URL`: a black-box smoke check of a running front door.

It talks HTTP only, as a client would, to `fleet dev` or the compose stack (Kong + AuthGate):

1. every enabled server: `POST /mcp/<name>` without a token is 401 with a `resource_metadata` challenge,
   and that RFC 9728 document names the resource byte for byte and an authorization server;
2. the authorization server's RFC 8414 metadata answers, its `issuer` equal to the PRM's (§3.3);
3. a client-credentials token for each server's resource → `whoami` through the gateway answers, showing
   the subject and the account name the server acts as;
4. a spoofed `X-MCP-Subject` (and `X-MCP-Gateway-Secret`) from the client changes nothing;
5. a token for one server is refused at another (audience binding).

Each check prints `ok` or `FAIL` with the reason; the exit status is 1 when any failed.

The client: `--clients DIR` (the compose stack: what authgate-init wrote, the generated id of fleet.toml's
client-credentials client and its secret file), else `--client-id` and the secret in the environment.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from .manifest import Manifest, ServerEntry

__all__ = ["Verifier", "run_verify"]

MCP_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-11-25",
}
WHOAMI = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}
SPOOFED = "spoofed-admin"


class CheckFailed(Exception):
    pass


@dataclass
class Verifier:
    origin: str
    servers: list[ServerEntry]
    client_id: str
    client_secret: str
    http: httpx2.Client
    out: Callable[[str], None] = print
    failures: list[str] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)  # server name → its client-credentials token
    subjects: dict[str, str] = field(default_factory=dict)  # server name → the subject whoami showed

    def run(self) -> bool:
        issuer = ""
        for server in self.servers:
            issuer = self.check(
                f"{server.name}: 401 challenge and protected resource metadata", self.prm, server
            )
        if issuer:
            endpoint = self.check(
                "authorization server metadata (RFC 8414, issuer)", self.as_metadata, issuer
            )
            for server in self.servers:
                if endpoint:
                    self.check(
                        f"{server.name}: client-credentials token → whoami", self.whoami, server, endpoint
                    )
        for server in self.servers:
            if server.name in self.tokens:
                self.check(f"{server.name}: spoofed X-MCP-* headers are ignored", self.spoof, server)
        named = [s for s in self.servers if s.name in self.tokens]
        for server, other in zip(named, named[1:] + named[:1], strict=True):
            if other is not server:
                self.check(f"{server.name}: a token for {other.name} is refused", self.foreign, server, other)
        self.out(f"{'FAILED' if self.failures else 'passed'}: {len(self.failures)} check(s) failed")
        return not self.failures

    def check(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            result = fn(*args)
        except CheckFailed as exc:
            self.failures.append(name)
            self.out(f"FAIL {name}: {exc}")
            return None
        except httpx2.HTTPError as exc:
            self.failures.append(name)
            self.out(f"FAIL {name}: {exc.__class__.__name__}: {exc}")
            return None
        detail = f" ({result})" if isinstance(result, str) and result else ""
        self.out(f"ok   {name}{detail}")
        return result if result is not None else True

    # -- the checks -----------------------------------------------------------------------------

    def resource(self, server: ServerEntry) -> str:
        return self.origin + server.path

    def prm(self, server: ServerEntry) -> str:
        resource = self.resource(server)
        prm_url = f"{self.origin}/.well-known/oauth-protected-resource{server.path}"
        answer = self.http.post(resource, json={})
        if answer.status_code != 401:
            raise CheckFailed(f"POST {resource} without a token answered {answer.status_code}, not 401")
        challenge = answer.headers.get("www-authenticate", "")
        if not challenge.lower().startswith("bearer") or f'resource_metadata="{prm_url}"' not in challenge:
            raise CheckFailed(f"no Bearer challenge with resource_metadata={prm_url!r}: {challenge!r}")
        meta = _json(self.http.get(prm_url), prm_url)
        if meta.get("resource") != resource:
            raise CheckFailed(f"PRM resource is {meta.get('resource')!r}, not {resource!r}")
        servers = meta.get("authorization_servers")
        if not isinstance(servers, list) or not servers or not isinstance(servers[0], str):
            raise CheckFailed("PRM names no authorization server")
        return servers[0]

    def as_metadata(self, issuer: str) -> str:
        url = _rfc8414_url(issuer)
        meta = _json(self.http.get(url), url)
        if meta.get("issuer") != issuer:
            raise CheckFailed(f"metadata issuer {meta.get('issuer')!r} is not the PRM's {issuer!r}")
        endpoint = meta.get("token_endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            raise CheckFailed("no token_endpoint")
        return endpoint

    def whoami(self, server: ServerEntry, endpoint: str) -> str:
        form = {
            "grant_type": "client_credentials",
            "resource": self.resource(server),
            "scope": server.read_scope,
        }
        answer = self.http.post(endpoint, data=form, auth=(self.client_id, self.client_secret))
        token = _json(answer, endpoint).get("access_token")
        if not isinstance(token, str) or not token:
            raise CheckFailed("the token endpoint gave no access_token")
        who = self._whoami(server, token, {})
        self.tokens[server.name] = token
        self.subjects[server.name] = who["subject"]
        return f"subject {who['subject']}, account {who.get('account') or 'none'}"

    def spoof(self, server: ServerEntry) -> None:
        forged = {
            "X-MCP-Subject": SPOOFED,
            "X-MCP-Gateway-Secret": "forged-secret-0123456789",
            "X-MCP-Client": "x",
        }
        who = self._whoami(server, self.tokens[server.name], forged)
        if who["subject"] != self.subjects[server.name] or SPOOFED in json.dumps(who):
            raise CheckFailed(f"the spoofed header reached the server: {who}")

    def foreign(self, server: ServerEntry, other: ServerEntry) -> None:
        answer = self.http.post(
            self.resource(server), json=WHOAMI, headers=MCP_HEADERS | _bearer(self.tokens[other.name])
        )
        if answer.status_code != 401:
            raise CheckFailed(f"answered {answer.status_code}: the audience is not checked")

    def _whoami(self, server: ServerEntry, token: str, extra: dict[str, str]) -> dict[str, Any]:
        answer = self.http.post(
            self.resource(server), json=WHOAMI, headers=MCP_HEADERS | _bearer(token) | extra
        )
        body = _json(answer, self.resource(server))
        result = body.get("result")
        if not isinstance(result, dict) or result.get("isError"):
            raise CheckFailed(f"whoami failed: {json.dumps(body)[:300]}")
        who = result.get("structuredContent")
        if not isinstance(who, dict) or not isinstance(who.get("subject"), str):
            raise CheckFailed(f"whoami gave no identity: {json.dumps(body)[:300]}")
        return who


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _rfc8414_url(issuer: str) -> str:
    parts = httpx2.URL(issuer)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc.decode()}/.well-known/oauth-authorization-server{path}"


def _json(answer: httpx2.Response, url: str) -> dict[str, Any]:
    if answer.status_code != 200:
        raise CheckFailed(f"{url} answered {answer.status_code}: {answer.text[:200]}")
    try:
        body = answer.json()
    except ValueError:
        raise CheckFailed(f"{url} did not answer JSON") from None
    if not isinstance(body, dict):
        raise CheckFailed(f"{url} did not answer a JSON object")
    return body


def registered_client(directory: Path, name: str) -> tuple[str, str]:
    """The id AuthGate generated for fleet.toml's client `name` and its secret (authgate-init wrote them)."""
    try:
        record = json.loads((directory / "clients.json").read_text(encoding="utf-8"))["clients"][name]
        secret = (directory / record["secret_file"]).read_text(encoding="utf-8").strip()
        return str(record["client_id"]), secret
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckFailed(
            f"{directory}: no registered client {name!r} with a secret (has authgate-init run? "
            "`docker compose logs authgate-init`)"
        ) from exc


def run_verify(manifest: Manifest, args: argparse.Namespace) -> int:
    origin = args.origin.rstrip("/")
    client = next((c for c in manifest.clients if "client_credentials" in c.grant_types), None)
    client_id = args.client_id or (client.client_id if client else None)
    secret_env = args.client_secret_env or (client.secret_env if client else None)
    secret = os.environ.get(secret_env, "") if secret_env else ""
    clients_dir: Path | None = getattr(args, "clients", None)
    if clients_dir is not None:
        if client is None:
            print("fleet stack verify: fleet.toml has no client with client_credentials")
            return 1
        try:
            client_id, secret = registered_client(clients_dir, client.client_id)
        except CheckFailed as exc:
            print(f"fleet stack verify: {exc}")
            return 1
    if not client_id or not secret:
        print(
            "fleet stack verify: needs a confidential client with client_credentials: --client-id and "
            f"its secret in ${secret_env or 'FLEET_VERIFY_CLIENT_SECRET'} (--client-secret-env NAME)"
        )
        return 1
    with httpx2.Client(timeout=15, trust_env=False, follow_redirects=False) as http:
        verifier = Verifier(origin, list(manifest.enabled_servers), client_id, secret, http)
        return 0 if verifier.run() else 1
