"""RFC 8628 device flow against a stub AS over real loopback HTTP (checklist C17)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
import httpx2
import pytest
from mcp.shared.auth import OAuthToken

from fleet_client import DeviceFlowError, FleetClient
from fleet_client.device import DeviceCode, device_authorization
from fleet_core.testing import text_of

if TYPE_CHECKING:  # conftest is not importable at run time (--import-mode=importlib)
    from client.tests.conftest import Stack


class FakeTime:
    """Records the waits the client asks for; no real sleeping."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


async def _run(
    stack: Stack, script: list[dict[str, Any]], *, interval: int | None = 5
) -> tuple[OAuthToken, FakeTime, list[DeviceCode]]:
    stack.auth.device_script = list(script)
    stack.auth.device_interval = interval
    fake = FakeTime()
    shown: list[DeviceCode] = []
    async with httpx2.AsyncClient(timeout=10) as http:
        with anyio.fail_after(20):
            token = await device_authorization(
                http,
                stack.auth.metadata(),
                client_id="fleet-client",
                scope="demo:read",
                resource=stack.rs.url,
                prompt=shown.append,
                sleep=fake.sleep,
                clock=fake.clock,
            )
    return token, fake, shown


PENDING = {"error": "authorization_pending"}
SLOW = {"error": "slow_down"}
OK = {"ok": True}


async def test_device_flow_polls_at_the_interval_and_slows_down_by_five_seconds(stack: Stack) -> None:
    token, fake, shown = await _run(stack, [PENDING, SLOW, PENDING, SLOW, OK], interval=3)
    assert fake.waits == [3, 3, 8, 8, 13]
    assert token.access_token.startswith("at-")
    assert shown[0].user_code == "ABCD-EFGH"
    device_request = next(q for kind, q in stack.auth.log if kind == "device")
    assert device_request == {"client_id": "fleet-client", "resource": stack.rs.url, "scope": "demo:read"}
    polls = [q for kind, q in stack.auth.log if kind.startswith("token:urn")]
    assert len(polls) == 5
    assert all(p["device_code"] == "dev-code" and p["resource"] == stack.rs.url for p in polls)


async def test_device_flow_default_interval_is_five_seconds(stack: Stack) -> None:
    _, fake, _ = await _run(stack, [PENDING, OK], interval=None)
    assert fake.waits == [5, 5]


async def test_device_flow_stops_on_expired_token(stack: Stack) -> None:
    with pytest.raises(DeviceFlowError, match="expired"):
        await _run(stack, [PENDING, {"error": "expired_token"}, OK])
    assert len(stack.auth.device_script) == 1  # no poll after expired_token


async def test_device_flow_stops_on_access_denied(stack: Stack) -> None:
    with pytest.raises(DeviceFlowError, match="denied"):
        await _run(stack, [{"error": "access_denied"}, OK])
    assert len(stack.auth.device_script) == 1


async def test_device_flow_stops_on_an_unknown_error(stack: Stack) -> None:
    with pytest.raises(DeviceFlowError, match="invalid_client"):
        await _run(stack, [{"error": "invalid_client", "error_description": "who?"}])


async def test_device_flow_gives_up_when_the_code_lifetime_has_passed(stack: Stack) -> None:
    stack.auth.device_script = [PENDING] * 500
    fake = FakeTime()
    async with httpx2.AsyncClient(timeout=10) as http:
        with anyio.fail_after(30), pytest.raises(DeviceFlowError, match="expired"):
            await device_authorization(
                http,
                stack.auth.metadata(),
                client_id="fleet-client",
                scope=None,
                resource=stack.rs.url,
                prompt=lambda code: None,
                sleep=fake.sleep,
                clock=fake.clock,
            )
    assert fake.now > 600
    assert len(fake.waits) == 121  # 600 s / 5 s, then the deadline check stops it


async def test_device_login_stores_a_token_the_client_then_uses(stack: Stack) -> None:
    async def no_browser(url: str) -> None:
        raise AssertionError(f"the browser flow must not run: {url}")

    fleet = FleetClient(stack.config(), opener=no_browser)
    stack.auth.device_script = [PENDING, OK]
    fake = FakeTime()
    with anyio.fail_after(20):
        await fleet.device_login("demo", prompt=lambda code: None, sleep=fake.sleep)
        async with fleet.connect("demo") as client:
            result = await client.call_tool("echo", {"text": "via device"})
    assert text_of(result) == "via device"
    assert stack.auth.count("authorize") == 0
    device_request = next(q for kind, q in stack.auth.log if kind == "device")
    assert device_request["scope"] == "demo:read demo:write"  # PRM scopes_supported (C7)


def test_device_flow_without_endpoint_is_refused() -> None:
    async def go() -> None:
        async with httpx2.AsyncClient() as http:
            await device_authorization(
                http, {"token_endpoint": "https://x"}, client_id="c", scope=None, resource="r", prompt=print
            )

    with pytest.raises(DeviceFlowError, match="does not offer the device flow"):
        anyio.run(go)
