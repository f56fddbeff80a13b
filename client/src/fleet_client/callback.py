"""The loopback redirect listener (RFC 8252 §7.3) and the browser hand-off (C15).

`LoopbackReceiver` binds 127.0.0.1 before the authorization URL is built (the redirect URI
names its port), accepts exactly one `GET /callback?...`, answers the browser with a short
page and hands `code`, `state` and `iss` to the SDK, which checks `state` and RFC 9207 `iss`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import webbrowser
from collections.abc import Callable
from html import escape
from typing import TextIO
from urllib.parse import parse_qs, urlsplit

import anyio
from mcp.shared.auth import AuthorizationCodeResult

from .errors import LoginError
from .urlguard import check_browser_url

__all__ = ["LoopbackReceiver", "open_in_browser"]

CALLBACK_PATH = "/callback"
_PAGE = (
    "<!doctype html><meta charset=utf-8><title>fleet-client</title>"
    "<body style='font-family:sans-serif;margin:3em'><h2>{title}</h2><p>{text}</p></body>"
)


def open_in_browser(url: str, *, headless: bool, out: TextIO | None = None) -> None:
    """Validate the scheme (C15), then open it with `webbrowser` (no shell involved) or print it."""
    check_browser_url(url)
    out = out or sys.stderr
    if not headless and webbrowser.open(url):
        print("Opened your browser to sign in. Waiting for the redirect ...", file=out)
        return
    print("Open this URL in a browser to sign in:\n\n  " + url + "\n", file=out, flush=True)


class LoopbackReceiver:
    """async with LoopbackReceiver(port) as rx: rx.redirect_uri ... await rx.wait()"""

    def __init__(self, port: int = 0, *, host: str = "127.0.0.1", timeout: float = 300.0):
        self._host, self._port, self._timeout = host, port, timeout
        self._server: asyncio.AbstractServer | None = None
        self._result: asyncio.Future[dict[str, str]] | None = None

    @property
    def redirect_uri(self) -> str:
        return f"http://{self._host}:{self._port}{CALLBACK_PATH}"

    async def __aenter__(self) -> LoopbackReceiver:
        try:
            self._server = await asyncio.start_server(self._handle, self._host, self._port)
        except OSError as exc:
            raise LoginError(
                f"cannot listen on {self._host}:{self._port} for the OAuth redirect: {exc}"
            ) from exc
        self._port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def arm(self) -> None:
        """Expect a new redirect (one per authorization request)."""
        self._result = asyncio.get_running_loop().create_future()

    async def wait(self) -> AuthorizationCodeResult:
        if self._result is None:
            self.arm()
        assert self._result is not None
        try:
            with anyio.fail_after(self._timeout):
                params = await asyncio.shield(self._result)
        except TimeoutError as exc:
            raise LoginError(f"no authorization redirect arrived within {self._timeout:.0f} s") from exc
        finally:
            self._result = None
        if "error" in params:
            detail = params.get("error_description", "")
            raise LoginError(
                f"the authorization server refused: {params['error']}{': ' + detail if detail else ''}"
            )
        if not params.get("code"):
            raise LoginError("the authorization redirect carried no code")
        return AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            with anyio.fail_after(10):
                request_line = (await reader.readline()).decode("latin-1")
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
            method, target, *_ = [*request_line.split(" "), "", ""]
            parts = urlsplit(target)
            if method != "GET" or parts.path != CALLBACK_PATH:
                self._respond(writer, 404, "Not found", "This listener only takes the OAuth redirect.")
                return
            params = {k: v[0] for k, v in parse_qs(parts.query).items()}
            pending = self._result
            if pending is None or pending.done():
                self._respond(writer, 409, "Unexpected redirect", "No sign-in is in progress.")
                return
            pending.set_result(params)
            if "error" in params:
                self._respond(writer, 400, "Sign-in refused", escape(params["error"]))
            else:
                self._respond(writer, 200, "Signed in", "You can close this tab and return to the terminal.")
            await writer.drain()
        except (TimeoutError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    @staticmethod
    def _respond(writer: asyncio.StreamWriter, status: int, title: str, text: str) -> None:
        body = _PAGE.format(title=escape(title), text=text).encode()
        head = (
            f"HTTP/1.1 {status} {title}\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + body)


def make_handlers(
    receiver: LoopbackReceiver, opener: Callable[[str], object]
) -> tuple[Callable[[str], object], Callable[[], object]]:
    """The SDK's (redirect_handler, callback_handler) pair over a receiver and a URL opener."""

    async def redirect_handler(url: str) -> None:
        check_browser_url(url)
        receiver.arm()
        result = opener(url)
        if hasattr(result, "__await__"):
            await result

    async def callback_handler() -> AuthorizationCodeResult:
        return await receiver.wait()

    return redirect_handler, callback_handler
