"""The dev authorization server: AuthGate's wire surface for `fleet dev` and the tests.

Public API (see app.py for details)::

    build_auth_server(manifest, *, state_dir, allow_loopback_cimd=False, dev_token_endpoint=False,
                      clock=time.time, cimd_timeout=5.0) -> starlette.applications.Starlette
    run_auth_server(manifest, *, state_dir, host=None, port=None, allow_loopback_cimd=False,
                    dev_token_endpoint=True) -> None        # blocking uvicorn on the issuer's port
    mint_dev_token(manifest, *, state_dir, user, scope) -> str
    default_state_dir(manifest_path) -> Path
    main()                                                   # `python -m fleet_frontdoor.authserver`

HTTP surface: /.well-known/oauth-authorization-server, /.well-known/openid-configuration,
/.well-known/jwks.json, /oauth/{authorize,login,consent,token,device/code,revoke,introspect,userinfo},
/device, /device/confirm, /healthz, and POST /dev/token (JSON {"user", "scope"}; dev flag + loopback).
Headless browser driving for tests: fleet_frontdoor.authserver.browser.approve_in_browser(...).
"""

from fleet_frontdoor.authserver.app import (
    build_auth_server,
    default_state_dir,
    main,
    mint_dev_token,
    run_auth_server,
)
from fleet_frontdoor.authserver.devtoken import DevTokenError

__all__ = [
    "DevTokenError",
    "build_auth_server",
    "default_state_dir",
    "main",
    "mint_dev_token",
    "run_auth_server",
]
