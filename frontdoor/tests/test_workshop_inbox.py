"""`fleet workshop sentry-inbox` (chapter 10): a local Sentry inbox that prints the DSN to use and each
event readably, says whether any argument or secret came with it, refuses to listen beyond loopback, and
survives wrong, oversized and hostile requests with a clear refusal."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx2
import pytest
import sentry_sdk

from fleet_core.testing.sentry import MAX_BODY, MAX_DECODED, Envelope, Item
from fleet_frontdoor.cli import main
from fleet_frontdoor.workshop.cli import TEXT
from fleet_frontdoor.workshop.inbox import describe, exposed

NOON = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def envelope(*items: tuple[str, bytes]) -> Envelope:
    return Envelope({"event_id": "f" * 32}, tuple(Item({"type": t}, p) for t, p in items))


def test_an_event_is_shown_with_its_exception_tags_and_user_and_said_to_hold_no_argument() -> None:
    event = (
        b'{"event_id":"3f2a9c1e00","level":"error",'
        b'"logentry":{"formatted":"tool add_note failed unexpectedly"},'
        b'"exception":{"values":[{"type":"RuntimeError","value":"the backend broke"}]},'
        b'"tags":{"fleet.server":"notes","fleet.tool":"add_note"},"user":{"id":"alice","username":"alice"},'
        b'"request":{"headers":{"Content-Type":"application/json"}}}'
    )
    lines = describe(envelope(("event", event), ("client_report", b"{}")), TEXT["en"], NOON)
    stamp = NOON.astimezone().strftime("%H:%M:%S")
    assert lines == [
        f"[{stamp}] event 3f2a9c1e  error",
        "    exception  RuntimeError: the backend broke",
        "    message    tool add_note failed unexpectedly",
        "    tags       fleet.server=notes  fleet.tool=add_note",
        "    user       id=alice  username=alice",
        "    arguments  ✓ none: no tool arguments or results, request body or stack-frame variables",
        "    secrets    ✓ none: no Authorization, Cookie or gateway-secret header",
        f"[{stamp}] client_report: not an event (the SDK's own bookkeeping)",
    ]
    chinese = describe(envelope(("event", event)), TEXT["zh-TW"], NOON)
    assert "    使用者  id=alice  username=alice" in chinese
    assert "    引數    ✓ 沒有：沒有工具的引數或結果、沒有 request body、沒有 stack frame 變數" in chinese


def test_arguments_and_secrets_are_named_where_the_sdk_would_have_put_them() -> None:
    leaky = {
        "spans": [{"data": {"mcp.request.argument.title": '"my secret plan"', "mcp.tool.name": "add_note"}}],
        "contexts": {"trace": {"data": {"mcp.tool.result.content": "[...]"}}},
        "exception": {"values": [{"stacktrace": {"frames": [{"vars": {"title": "my secret plan"}}, {}]}}]},
        "request": {
            "data": '{"title": "my secret plan"}',
            "headers": {"Authorization": "Bearer eyJ…", "X-MCP-Gateway-Secret": "s3cret"},
            "cookies": {"session": "x"},
        },
    }
    arguments, secrets = exposed(leaky)
    assert arguments == [
        "contexts.trace.data.mcp.tool.result.content",
        "exception.values[0].stacktrace.frames[0].vars",
        "request.data",
        "spans[0].data.mcp.request.argument.title",
    ]
    assert secrets == [
        "request.headers.Authorization",
        "request.headers.X-MCP-Gateway-Secret",
        "request.cookies",
    ]
    shown = describe(envelope(("transaction", json.dumps(leaky).encode())), TEXT["en"], NOON)
    assert any(line.startswith("    arguments  ✗ sent: contexts.trace.data") for line in shown)
    assert any(line.startswith("    secrets    ✗ sent: request.headers.Authorization") for line in shown)
    assert exposed({"exception": {"values": [{"stacktrace": {"frames": [{"vars": {}}]}}]}}) == ([], [])


NOT_LOOPBACK = ["0.0.0.0", "::", "192.168.1.20", "example.com", ""]  # noqa: S104 - what is refused


@pytest.mark.parametrize("host", NOT_LOOPBACK)
def test_the_inbox_listens_on_loopback_only(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["workshop", "sentry-inbox", "--host", host, "--lang", "en"])
    assert stopped.value.code == 2
    said = capsys.readouterr().out
    assert f"{host} is not a loopback address" in said
    assert "127.0.0.1 (or ::1) only" in said


def test_a_taken_port_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as stopped:
            main(["workshop", "sentry-inbox", "--port", str(port), "--lang", "en"])
    assert stopped.value.code == 1
    assert f"port {port} is taken" in capsys.readouterr().out


@dataclass
class Inbox:
    """A running `fleet workshop sentry-inbox`: its first lines and DSN; its output once stopped."""

    head: list[str]
    dsn: str
    out: str = ""
    returncode: int | None = None

    @property
    def base(self) -> str:
        return self.dsn.replace("public@", "").rsplit("/", 1)[0]


ENVELOPES = "/api/1/envelope/"
AUTH = {"X-Sentry-Auth": "Sentry sentry_key=public"}


@contextmanager
def running_inbox(stop: signal.Signals = signal.SIGINT) -> Iterator[Inbox]:
    """The inbox in a real subprocess on a free port, stopped with `stop` when the block ends."""
    command = [sys.executable, "-c", "import sys; from fleet_frontdoor.cli import main; sys.exit(main())"]
    args = ["workshop", "sentry-inbox", "--port", "0", "--lang", "en"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as process:
        try:
            head = [process.stdout.readline() for _ in range(5)] if process.stdout else []
            dsn = next((line.split("=", 1)[1].strip() for line in head if "SENTRY_DSN=" in line), "")
            inbox = Inbox(head, dsn)
            yield inbox
        finally:
            process.send_signal(stop)
            out, _ = process.communicate(timeout=20)
    inbox.out, inbox.returncode = out, process.returncode


def test_the_inbox_prints_the_dsn_refuses_hostile_requests_and_shows_the_sdks_event() -> None:
    url, auth = ENVELOPES, AUTH
    with running_inbox() as inbox:
        with httpx2.Client(base_url=inbox.base, trust_env=False, timeout=10) as http:
            hostile = [
                http.post(url, content=b"\x00\xff not an envelope", headers=auth),
                http.post(url, content=b"x" * (MAX_BODY + 1), headers=auth),
                http.post(
                    url,
                    content=gzip.compress(b"\n" * (MAX_DECODED + 1)),
                    headers=auth | {"Content-Encoding": "gzip"},
                ),
                http.post(url, content=b"{}", headers=auth | {"Content-Encoding": "compress"}),
                http.post(url, content=b"{}"),
                http.get("/"),
                http.post(url, content=b"{}\n", headers=auth | {"Origin": "https://evil.example"}),
                http.post(  # a terminal escape sequence, to be shown, not obeyed
                    url,
                    content=b'{}\n{"type":"event"}\n{"message":"\\u001b]0;owned\\u0007hi"}\n',
                    headers=auth,
                ),
            ]
        assert [r.status_code for r in hostile] == [400, 413, 413, 415, 401, 404, 403, 200]
        sentry_sdk.init(dsn=inbox.dsn, include_local_variables=False)
        try:
            with sentry_sdk.isolation_scope():  # this test's tag, not the process's for later tests
                sentry_sdk.set_tag("fleet.server", "notes")
                sentry_sdk.capture_message("hello, inbox")
            sentry_sdk.flush(timeout=5)
        finally:
            sentry_sdk.get_client().close(timeout=2)
            sentry_sdk.init()
    out, head, dsn = inbox.out, inbox.head, inbox.dsn
    assert inbox.returncode == 0, out
    assert head[0].startswith("fleet workshop sentry-inbox: a local Sentry inbox")
    assert dsn.startswith("http://public@127.0.0.1:")
    assert dsn.endswith("/1")
    lines = out.splitlines()
    refused = [line for line in lines if line.startswith("  refused: ")]
    assert len(refused) == 7
    assert "HTTP 403: requests from a web page (with an Origin header) are refused" in refused[6]
    assert "    message    \\x1b]0;owned\\x07hi" in lines
    assert "\x1b" not in out
    assert f"HTTP 413: the body is {MAX_BODY + 1} bytes; the limit is {MAX_BODY}" in refused[1]
    assert "decompresses to more than" in refused[2]
    assert "Content-Encoding 'compress' is not supported" in refused[3]
    event = [i for i, line in enumerate(lines) if " event " in line][-1]
    assert "    message    hello, inbox" in lines[event : event + 6]
    assert "    tags       fleet.server=notes" in lines[event : event + 6]
    assert any(line.startswith("    arguments  ✓ none") for line in lines[event : event + 6])
    assert lines[-1] == "Stopped: 2 envelopes received, 7 requests refused."
    assert "Traceback" not in out


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_sigterm_stops_the_inbox_as_ctrl_c_does_with_its_summary(stop: signal.Signals) -> None:
    """`kill %1` (chapter 10's step 6) sends SIGTERM: the inbox stops as gracefully as on Ctrl-C, says
    what it received and exits 0, instead of dying silently."""
    with (
        running_inbox(stop) as inbox,
        httpx2.Client(base_url=inbox.base, trust_env=False, timeout=10) as http,
    ):
        event = b'{}\n{"type":"event"}\n{"message":"hello"}\n'
        sent = [http.post(ENVELOPES, content=event, headers=AUTH), http.post(ENVELOPES, content=b"{}")]
        assert [r.status_code for r in sent] == [200, 401]
    out = inbox.out
    assert inbox.returncode == 0, out
    assert out.splitlines()[-1] == "Stopped: 1 envelopes received, 1 requests refused.", out
    assert "Traceback" not in out
