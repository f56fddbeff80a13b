"""Hostile inputs are refused with a clear message (checklist C2, C4, C8, C12, C14, C15, RFC 9207)."""

from __future__ import annotations

import pathlib
import socket
from typing import TYPE_CHECKING, Any

import anyio
import httpx2
import pytest
from mcp.shared.auth import OAuthClientMetadata, OAuthToken

from fleet_client import FleetClient, UnsafeURLError
from fleet_client.auth import FleetOAuthProvider, acceptable_prm_resource
from fleet_client.callback import open_in_browser
from fleet_client.errors import explain
from fleet_client.session import Opener
from fleet_client.storage import FileTokenStorage
from fleet_client.urlguard import GuardedTransport, check_browser_url, check_fetch_url

if TYPE_CHECKING:  # conftest is not importable at run time (--import-mode=importlib)
    from client.tests.conftest import Browser, Stack


async def _login_error(stack: Stack, opener: Opener) -> str:
    fleet = FleetClient(stack.config(), opener=opener)
    try:
        with anyio.fail_after(20):
            async with fleet.connect("demo") as client:
                await client.call_tool("echo", {"text": "x"})
    except Exception as exc:  # the SDK wraps flow errors in exception groups
        return explain(exc) or f"unexplained: {exc!r}"
    pytest.fail("the login should have been refused")


def _no_tokens_issued(stack: Stack) -> bool:
    return stack.auth.count("token:authorization_code") == 0


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>x</script>",
        "file:///etc/passwd",
        "JaVaScRiPt:x",
    ],
)
def test_authorization_url_with_a_non_http_scheme_is_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError, match="not http"):
        open_in_browser(url, headless=True)


def test_authorization_url_over_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(UnsafeURLError, match="only on loopback"):
        check_browser_url("http://auth.example.com/authorize?x=1")
    assert check_browser_url("https://auth.example.com/authorize") == "https://auth.example.com/authorize"


async def test_metadata_with_a_javascript_authorization_endpoint_never_reaches_the_browser(
    stack: Stack, browser: Browser
) -> None:
    stack.auth.authorization_endpoint = "javascript:alert(1)"
    opened: list[str] = []

    async def opener(url: str) -> None:
        opened.append(url)
        await browser(url)

    message = await _login_error(stack, opener)
    assert opened == []
    assert "refusing to start the authorization code flow" in message


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://169.254.169.254/x", "link-local"),
        ("https://[fe80::1]/x", "link-local"),
        ("https://10.1.2.3/.well-known/oauth-protected-resource", "private-network"),
        ("https://192.168.0.10/x", "private-network"),
        ("http://example.com/x", "only on loopback"),
        ("ftp://127.0.0.1/x", "only absolute http"),
        ("https://user:pw@example.com/x", "userinfo"),
    ],
)
def test_fetch_guard_refuses(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURLError, match=reason):
        check_fetch_url(url)


def test_fetch_guard_allows_loopback_http_and_https() -> None:
    check_fetch_url("http://127.0.0.1:8700/mcp/db")
    check_fetch_url("http://localhost:1234/x")
    check_fetch_url("http://[::1]:1/x")
    check_fetch_url("https://93.184.216.34/x")
    check_fetch_url("https://10.1.2.3/x", allow_private=True)
    with pytest.raises(UnsafeURLError, match="link-local"):
        check_fetch_url("https://169.254.169.254/x", allow_private=True)


async def test_prm_pointing_at_a_link_local_address_is_refused(stack: Stack, browser: Browser) -> None:
    stack.rs.resource_metadata_url = "http://169.254.169.254/latest/meta-data/iam"
    message = await _login_error(stack, browser)
    assert "169.254.169.254 is a link-local address" in message
    assert stack.auth.log == []


async def test_mismatched_prm_resource_is_refused(stack: Stack, browser: Browser) -> None:
    stack.rs.prm_resource = "https://evil.example/mcp"
    message = await _login_error(stack, browser)
    assert "names resource https://evil.example/mcp" in message
    assert stack.auth.count("authorize") == 0


async def test_prm_naming_a_sibling_resource_is_refused(stack: Stack, browser: Browser) -> None:
    stack.rs.prm_resource = stack.rs.base + "/other"
    message = await _login_error(stack, browser)
    assert "refusing" in message
    assert stack.auth.count("authorize") == 0


@pytest.mark.parametrize(
    ("prm", "ok"),
    [
        ("https://gw.example/mcp/gitea", True),
        ("https://GW.example/mcp/gitea/", True),
        ("https://gw.example", True),  # root well-known PRM (RFC 9728 §3.3)
        ("https://gw.example/mcp", False),  # a parent path would cover every server behind it
        ("https://gw.example/mcp/sentry", False),
        ("https://gw.example/mcp/gitea-evil", False),
        ("http://gw.example/mcp/gitea", False),
        ("https://evil.example/mcp/gitea", False),
    ],
)
def test_which_prm_resources_are_acceptable(prm: str, ok: bool) -> None:
    assert acceptable_prm_resource(prm, "https://gw.example/mcp/gitea") is ok


async def test_a_root_prm_still_gets_a_token_for_exactly_this_server(stack: Stack, browser: Browser) -> None:
    stack.rs.prm_resource = stack.rs.base
    fleet = FleetClient(stack.config(), opener=browser)
    with anyio.fail_after(20):
        async with fleet.connect("demo") as client:
            await client.call_tool("echo", {"text": "x"})
    authorize = next(q for kind, q in stack.auth.log if kind == "authorize")
    token = next(q for kind, q in stack.auth.log if kind == "token:authorization_code")
    assert authorize["resource"] == token["resource"] == stack.rs.url


async def test_callback_with_a_wrong_state_is_refused(stack: Stack, browser: Browser) -> None:
    stack.auth.state_mode = "tamper"
    message = await _login_error(stack, browser)
    assert "State parameter mismatch" in message
    assert _no_tokens_issued(stack)


async def test_callback_with_a_wrong_iss_is_refused(stack: Stack, browser: Browser) -> None:
    stack.auth.iss_mode = "wrong"
    message = await _login_error(stack, browser)
    assert "iss mismatch: https://evil.example" in message
    assert _no_tokens_issued(stack)


async def test_callback_without_iss_is_refused_when_the_as_advertises_it(
    stack: Stack, browser: Browser
) -> None:
    stack.auth.iss_mode = "missing"
    message = await _login_error(stack, browser)
    assert "missing iss" in message
    assert _no_tokens_issued(stack)


async def test_authorization_server_without_pkce_s256_is_refused(stack: Stack, browser: Browser) -> None:
    stack.auth.pkce_methods = None
    message = await _login_error(stack, browser)
    assert "PKCE S256" in message
    assert stack.auth.count("authorize") == 0


async def test_the_bearer_is_only_attached_to_its_own_resource(tmp_path: pathlib.Path) -> None:
    storage = FileTokenStorage(tmp_path, "https://gw.example/mcp/gitea")
    async with httpx2.AsyncClient() as http:
        provider = FleetOAuthProvider(
            server_url="https://gw.example/mcp/gitea",
            client_metadata=OAuthClientMetadata(redirect_uris=["http://127.0.0.1:1/callback"]),
            storage=storage,
            discovery_http=http,
        )
    provider.context.current_tokens = OAuthToken(access_token="gitea-token")
    own = httpx2.Request("POST", "https://gw.example/mcp/gitea")
    sub = httpx2.Request("POST", "https://gw.example/mcp/gitea/x")
    other = httpx2.Request("POST", "https://gw.example/mcp/sentry")
    prefix = httpx2.Request("POST", "https://gw.example/mcp/gitea-evil")
    for request in (own, sub, other, prefix):
        provider._add_auth_header(request)
    assert own.headers["authorization"] == "Bearer gitea-token"
    assert sub.headers["authorization"] == "Bearer gitea-token"
    assert "authorization" not in other.headers
    assert "authorization" not in prefix.headers


async def test_a_hostname_resolving_to_a_link_local_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fake_getaddrinfo(
        host: str, port: int, **kwargs: Any
    ) -> list[tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[str, int]]]:
        assert host == "metadata.attacker.example"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]

    monkeypatch.setattr(anyio, "getaddrinfo", fake_getaddrinfo)
    async with httpx2.AsyncClient(transport=GuardedTransport()) as http:
        with pytest.raises(UnsafeURLError, match="resolves to a link-local address"):
            await http.get("https://metadata.attacker.example/.well-known/oauth-protected-resource")
