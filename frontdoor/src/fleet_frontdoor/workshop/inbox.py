"""`fleet workshop sentry-inbox`: a local Sentry ingest endpoint that prints what it receives, so
chapter 10 needs no Sentry account. Set SENTRY_DSN to the DSN it prints.

The receiving is fleet_core.testing's SentryCapture (the same endpoint the contract suite's Sentry check
uses); this module serves it on a loopback port and says, per event, what a reader of a Sentry issue
would see: its type, exception or message, tags and user, and whether any tool argument or secret
made it in (where the SDK would put one: MCP span data, the request, stack-frame variables).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from .doctor import INBOX_PORT

if TYPE_CHECKING:  # the receiving code is imported when the inbox starts, not by every `fleet` command
    from fleet_core.testing.sentry import Envelope, SentryCapture

__all__ = ["describe", "exposed", "inbox_socket", "serve_inbox"]

DEFAULT_PORT = INBOX_PORT
# Where the SDK's MCP integration would put what the caller sent or got back, if the core let it.
ARGUMENT_KEYS = ("mcp.request.argument.", "mcp.tool.result.content", "mcp.prompt.result.message_content")
SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization", "x-mcp-gateway-secret", "x-api-key"}
ITEM_KINDS = ("event", "transaction")


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield f"{path}.{key}" if path else str(key), inner
            yield from _walk(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _walk(inner, f"{path}[{index}]")


def exposed(payload: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(where a tool argument or result is, where a secret is) in an event or transaction payload."""
    arguments: list[str] = []
    secrets: list[str] = []
    for path, value in _walk(payload):
        in_span_data = any(marker in path for marker in ARGUMENT_KEYS)
        frame_variables = path.endswith(".vars") and bool(value)  # a tool's locals hold its arguments
        request_data = path in ("request.data", "request.query_string") and bool(value)
        if in_span_data or frame_variables or request_data:
            arguments.append(path)
    request = payload.get("request")
    headers = request.get("headers") if isinstance(request, dict) else None
    if isinstance(headers, dict):
        secrets += [f"request.headers.{h}" for h in headers if str(h).lower() in SECRET_HEADERS]
    if isinstance(request, dict) and request.get("cookies"):
        secrets.append("request.cookies")
    return sorted(set(arguments)), secrets


def _exception(payload: dict[str, Any]) -> str:
    values = (payload.get("exception") or {}).get("values") or []
    return " ← ".join(f"{v.get('type', '?')}: {v.get('value', '')}" for v in reversed(values) if v)


def _message(payload: dict[str, Any]) -> str:
    entry = payload.get("logentry") or {}
    message = payload.get("message")
    text = entry.get("formatted") or entry.get("message") if isinstance(entry, dict) else None
    return str(text or (message if isinstance(message, str) else "") or "")


def _pairs(mapping: Any) -> str:
    if not isinstance(mapping, dict):
        return ""
    return "  ".join(f"{k}={v}" for k, v in sorted(mapping.items()))


def _width(label: str) -> int:
    """Terminal columns: a CJK character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in label)


def describe(envelope: Envelope, text: dict[str, str], now: datetime | None = None) -> list[str]:
    """What the inbox prints for one envelope: a block per event or transaction, a line per other item."""
    stamp = (now or datetime.now(UTC)).astimezone().strftime("%H:%M:%S")
    lines: list[str] = []
    for item in envelope.items:
        if item.type not in ITEM_KINDS:
            lines.append(text["inbox_other"].format(stamp=stamp, type=item.type))
            continue
        payload = item.json()
        ident = str(payload.get("event_id") or envelope.headers.get("event_id") or "")[:8]
        if item.type == "transaction":
            head = f"{payload.get('transaction', '?')} ({len(payload.get('spans') or [])} spans)"
        else:
            head = str(payload.get("level", "error"))
        lines.append(f"[{stamp}] {item.type} {ident}  {head}")
        rows = [
            (text["inbox_exception"], _exception(payload)),
            (text["inbox_message"], _message(payload)),
            ("tags", _pairs(payload.get("tags"))),
            (text["inbox_user"], _pairs(payload.get("user"))),
        ]
        arguments, secrets = exposed(payload)
        rows.append(
            (
                text["inbox_arguments"],
                text["inbox_found"].format(found=", ".join(arguments))
                if arguments
                else text["inbox_no_arguments"],
            )
        )
        rows.append(
            (
                text["inbox_secrets"],
                text["inbox_found"].format(found=", ".join(secrets)) if secrets else text["inbox_no_secrets"],
            )
        )
        width = max(_width(label) for label, _ in rows)
        lines += [f"    {label}{' ' * (width - _width(label))}  {value}" for label, value in rows if value]
    return lines


def inbox_socket(host: str, port: int) -> socket.socket:
    """The inbox's listening socket. Loopback only: it prints whatever anyone posts to it, and events
    are the server's own; ValueError for any other address, OSError when the port is taken."""
    from fleet_core.testing.sentry import is_loopback

    if not is_loopback(host):
        raise ValueError(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1" if host == "localhost" else host, port))
        sock.listen(128)  # from now on a connection waits for the server instead of being refused
    except OSError:
        sock.close()
        raise
    return sock


def serve_inbox(
    sock: socket.socket, text: dict[str, str], out: Callable[[str], None] = print
) -> SentryCapture:
    """Serve the inbox on `sock` until Ctrl-C or SIGTERM (chapter 10's `kill %1`); returns what it
    received. Either stops it the same way: uvicorn shuts down gracefully, then re-raises the signal it
    caught, which here ends the serving instead of the process, so the caller can print its summary."""
    import uvicorn

    from fleet_core.http import BoundedHttpToolsProtocol
    from fleet_core.testing.sentry import EnvelopeError, SentryCapture

    def show(line: str) -> None:  # what anyone posted, printed: never a terminal control sequence
        out("".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in line))

    def received(envelope: Envelope) -> None:
        try:
            for line in describe(envelope, text):
                show(line)
        except EnvelopeError as exc:  # an item the capture kept but that is not JSON: say so, go on
            show(text["inbox_refused"].format(detail=str(exc)))

    def refused(detail: str) -> None:
        show(text["inbox_refused"].format(detail=detail))

    capture = SentryCapture(on_envelope=received, on_error=refused)
    config = uvicorn.Config(
        capture,
        log_level="warning",
        access_log=False,
        server_header=False,
        lifespan="off",
        http=BoundedHttpToolsProtocol,
    )
    # uvicorn restores the SIGTERM handler it found, then raises the signal again: with the default
    # handler that killed the process before the summary; this one makes it end the serving instead
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with contextlib.suppress(KeyboardInterrupt, _Terminated):
            uvicorn.Server(config).run(sockets=[sock])
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return capture


class _Terminated(Exception):
    """SIGTERM, raised where the inbox serves (see serve_inbox)."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise _Terminated
