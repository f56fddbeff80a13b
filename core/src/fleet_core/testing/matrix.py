"""The gateway's validation matrix, replayed against any front door (the dev gateway or Kong) for one
server's resource: the rows of the kong-mcp-oauth2 README that a client can see from outside.

    matrix = await replay_matrix(resource, token=read, token_without_scope=write_only,
                                 token_for_another_resource=gitea_read)
    assert matrix.no_token.status == 401
    assert matrix.no_token.param("resource_metadata") == matrix.metadata_url

It sends the requests and reports what came back (`Answer`); the test says what the answers must be.
Row 4 (an expired token), row 5c (HS256 and `alg=none` forgeries) and row 6a (the bearer stripped or passed
on) need the issuer's key or the upstream's view: the repo's own matrix
(frontdoor/tests/test_gateway_matrix.py) covers them; here a forgery is checklist item G11 (a key the
issuer never had).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from . import MCP_HEADERS, call_body

__all__ = ["SPOOFED_HEADERS", "Answer", "Matrix", "forge_signature", "replay_matrix"]

# what a client sends to pass for someone else (row 6b): the gateway must drop or overwrite every one
SPOOFED_HEADERS = {
    "X-MCP-Subject": "admin",
    "X-MCP-Scope": "admin:all",
    "X-MCP-Gateway-Secret": "guessed",
}
_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Answer:
    """One HTTP answer of the front door: status, `WWW-Authenticate` ("" when none), JSON body (or None)."""

    status: int
    challenge: str
    body: Any

    def param(self, name: str) -> str | None:
        """A parameter of the Bearer challenge, e.g. `error`, `scope`, `resource_metadata`."""
        return dict(_PARAM.findall(self.challenge)).get(name)

    @property
    def structured(self) -> dict[str, Any]:
        """A tools/call answer's structured content ({} when the call did not answer one)."""
        result = self.body.get("result") if isinstance(self.body, dict) else None
        content = result.get("structuredContent") if isinstance(result, dict) else None
        return content if isinstance(content, dict) else {}


@dataclass(frozen=True)
class Matrix:
    resource: str
    metadata_url: str  # RFC 9728 §3.1: path-inserted
    no_token: Answer  # row 1: POST without a token
    metadata: Answer  # row 2: GET the protected resource metadata
    valid: Answer  # row 3: the read token, calling `tool`
    insufficient_scope: Answer  # row 5a: a token for this resource without the route's scope
    wrong_audience: Answer  # row 5b: a valid token for another resource
    forged_signature: Answer  # G11: the read token's claims, signed with a key not the issuer's
    spoofed_headers: Answer  # row 6b: the read token plus SPOOFED_HEADERS


def metadata_url(resource: str) -> str:
    url = urlsplit(resource)
    return f"{url.scheme}://{url.netloc}/.well-known/oauth-protected-resource{url.path}"


def forge_signature(token: str) -> str:
    """The same header (`kid` included) and claims, signed RS256 with a fresh key the issuer never had:
    a token only a gateway that skips the signature check would take."""
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": header.get("kid")})


async def replay_matrix(
    resource: str,
    *,
    token: str,
    token_without_scope: str,
    token_for_another_resource: str,
    tool: str = "whoami",
) -> Matrix:
    """Send the matrix rows to `resource` (a URL behind a front door) and report each answer.
    `token` holds the route's scope for this resource; `token_without_scope` is for this resource without
    it; `token_for_another_resource` is a valid token whose audience is another server."""
    body = call_body(tool)

    async with httpx2.AsyncClient(timeout=10, trust_env=False) as http:

        async def post(bearer: str | None, extra: dict[str, str] | None = None) -> Answer:
            headers = MCP_HEADERS | ({"Authorization": f"Bearer {bearer}"} if bearer else {}) | (extra or {})
            return _answer(await http.post(resource, json=body, headers=headers))

        prm = metadata_url(resource)
        return Matrix(
            resource=resource,
            metadata_url=prm,
            no_token=await post(None),
            metadata=_answer(await http.get(prm)),
            valid=await post(token),
            insufficient_scope=await post(token_without_scope),
            wrong_audience=await post(token_for_another_resource),
            forged_signature=await post(forge_signature(token)),
            spoofed_headers=await post(token, SPOOFED_HEADERS),
        )


def _answer(response: httpx2.Response) -> Answer:
    try:
        body = response.json()
    except ValueError:
        body = None
    return Answer(response.status_code, response.headers.get("www-authenticate", ""), body)
