"""RFC 8628 device authorization grant (checklist C17) — not in the MCP SDK.

    token = await device_authorization(http, metadata, client_id=..., scope=..., resource=...,
                                       prompt=show_code)

Honours `interval` (default 5 s), adds 5 s on `slow_down` (RFC 8628 §3.5), keeps polling on
`authorization_pending`, stops on `expired_token`, `access_denied`, any other error, or when
`expires_in` has passed. `sleep` and `clock` are injectable so tests run without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
from mcp.shared.auth import OAuthToken
from pydantic import ValidationError

from .errors import DeviceFlowError

__all__ = ["DEVICE_CODE_GRANT", "DeviceCode", "device_authorization"]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5
SLOW_DOWN_STEP = 5


@dataclass(frozen=True)
class DeviceCode:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: int
    interval: int


def _error(response: httpx2.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return f"http_{response.status_code}", response.text[:200]
    if not isinstance(body, dict):
        return f"http_{response.status_code}", ""
    return str(body.get("error", f"http_{response.status_code}")), str(body.get("error_description", ""))


async def request_device_code(
    http: httpx2.AsyncClient, endpoint: str, *, client_id: str, scope: str | None, resource: str
) -> DeviceCode:
    data = {"client_id": client_id, "resource": resource}
    if scope:
        data["scope"] = scope
    response = await http.post(endpoint, data=data)
    if response.status_code != 200:
        error, detail = _error(response)
        raise DeviceFlowError(f"the device authorization request was refused: {error} {detail}".strip())
    try:
        body = response.json()
        return DeviceCode(
            device_code=str(body["device_code"]),
            user_code=str(body["user_code"]),
            verification_uri=str(body["verification_uri"]),
            verification_uri_complete=body.get("verification_uri_complete"),
            expires_in=int(body.get("expires_in", 1800)),
            interval=max(1, int(body.get("interval", DEFAULT_INTERVAL))),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise DeviceFlowError(f"the device authorization response is malformed: {exc}") from exc


async def poll_for_token(
    http: httpx2.AsyncClient,
    token_endpoint: str,
    code: DeviceCode,
    *,
    client_id: str,
    resource: str,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> OAuthToken:
    deadline = clock() + code.expires_in
    interval = code.interval
    data = {"grant_type": DEVICE_CODE_GRANT, "device_code": code.device_code, "client_id": client_id}
    data["resource"] = resource
    while True:
        await sleep(interval)
        if clock() > deadline:
            raise DeviceFlowError("the device code expired before it was approved; run login --device again")
        response = await http.post(token_endpoint, data=data)
        if response.status_code == 200:
            try:
                return OAuthToken.model_validate_json(response.content)
            except ValidationError as exc:
                raise DeviceFlowError(f"the token response is malformed: {exc}") from exc
        error, detail = _error(response)
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += SLOW_DOWN_STEP
            continue
        if error == "expired_token":
            raise DeviceFlowError("the device code expired before it was approved; run login --device again")
        if error == "access_denied":
            raise DeviceFlowError("the sign-in was denied on the device page")
        raise DeviceFlowError(f"the token endpoint refused the device code: {error} {detail}".strip())


async def device_authorization(
    http: httpx2.AsyncClient,
    metadata: Mapping[str, Any],
    *,
    client_id: str,
    scope: str | None,
    resource: str,
    prompt: Callable[[DeviceCode], Awaitable[None] | None],
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> OAuthToken:
    endpoint = metadata.get("device_authorization_endpoint")
    if not endpoint:
        raise DeviceFlowError("the authorization server does not offer the device flow (no device endpoint)")
    code = await request_device_code(http, str(endpoint), client_id=client_id, scope=scope, resource=resource)
    shown = prompt(code)
    if shown is not None:
        await shown
    return await poll_for_token(
        http,
        str(metadata["token_endpoint"]),
        code,
        client_id=client_id,
        resource=resource,
        sleep=sleep,
        clock=clock,
    )
