"""The local Sentry ingest endpoint (fleet_core.testing.sentry): the envelope protocol as the SDK sends
it, and every kind of wrong, oversized or hostile request refused with a clear 4xx, never a crash."""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import AsyncIterator

import anyio
import httpx2
import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope as SdkEnvelope
from sentry_sdk.envelope import Item as SdkItem

from fleet_core.testing import running_app, sentry_capture
from fleet_core.testing.sentry import (
    DRAIN_LIMIT,
    MAX_BODY,
    MAX_DECODED,
    MAX_ITEMS,
    EnvelopeError,
    SentryCapture,
    decode_body,
    envelope_url,
    parse_envelope,
)

AUTH = {"X-Sentry-Auth": "Sentry sentry_version=7, sentry_key=public, sentry_client=test/1.0"}


def sdk_envelope() -> bytes:
    """An envelope as the SDK serializes it: an event, and an attachment whose bytes hold newlines."""
    envelope = SdkEnvelope(headers={"event_id": "a" * 32})
    envelope.add_event({"event_id": "a" * 32, "message": "boom", "tags": {"fleet.server": "notes"}})
    envelope.add_item(SdkItem(payload=b"line one\nline two\n", type="attachment"))
    return envelope.serialize()


def test_an_envelope_as_the_sdk_serializes_it_parses_item_by_item() -> None:
    parsed = parse_envelope(sdk_envelope())
    assert parsed.headers == {"event_id": "a" * 32}
    assert [i.type for i in parsed.items] == ["event", "attachment"]
    assert parsed.items[0].json()["tags"] == {"fleet.server": "notes"}
    assert parsed.items[1].payload == b"line one\nline two\n"  # `length` bytes, newlines and all


def test_items_without_length_end_at_the_newline_and_blank_lines_are_skipped() -> None:
    data = b'{}\n{"type":"event"}\n{"message":"a"}\n\n{"type":"session"}\n{"status":"ok"}\n'
    parsed = parse_envelope(data)
    assert [(i.type, i.json()) for i in parsed.items] == [
        ("event", {"message": "a"}),
        ("session", {"status": "ok"}),
    ]
    assert parse_envelope(b"{}").items == ()  # headers only, no trailing newline


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"not json\n", "envelope header is not a JSON line"),
        (b"[1, 2]\n", "envelope header is not a JSON object"),
        (b'{}\n{"length": 2}\n{}\n', "item 1 has no type"),
        (b'{}\n{"type": ""}\n{}\n', "item 1 has no type"),
        (b'{}\n{"type": "event"}\n{}\n{"type"\n', "header of item 2 is not a JSON line"),
        (b'{}\n{"type": "event", "length": 500}\n{}\n', "says length 500, but 3 bytes are left"),
        (b'{}\n{"type": "event", "length": -1}\n{}\n', "not a byte count"),
        (b'{}\n{"type": "event", "length": "2"}\n{}\n', "not a byte count"),
        (b'{}\n{"type": "event", "length": true}\n{}\n', "not a byte count"),
        (b"{}\n" + b'{"type": "session"}\n{}\n' * (MAX_ITEMS + 1), f"more than {MAX_ITEMS} items"),
    ],
)
def test_a_malformed_envelope_is_refused_with_what_is_wrong(body: bytes, says: str) -> None:
    with pytest.raises(EnvelopeError, match=says):
        parse_envelope(body)


def test_content_encodings_the_sdk_may_use_are_decoded() -> None:
    data = sdk_envelope()
    assert decode_body(data, None) == data
    assert decode_body(data, "identity") == data
    assert decode_body(gzip.compress(data), "gzip") == data
    assert decode_body(gzip.compress(data), " GZIP ") == data
    assert decode_body(zlib.compress(data), "deflate") == data  # as HTTP defines deflate
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert decode_body(raw.compress(data) + raw.flush(), "deflate") == data  # raw, as some clients send


@pytest.mark.parametrize(
    ("body", "encoding", "status", "says"),
    [
        (
            b"\x8b\x1f",
            "br",
            415,
            re.escape("'br' is not supported here (use one of: gzip, deflate, identity)"),
        ),
        (b"x", "zstd", 415, "not supported"),
        (b"not gzip at all", "gzip", 400, "not valid gzip data"),
        (gzip.compress(b"{}\n" * 100, mtime=0)[:-12], "gzip", 400, "truncated"),
        (b"\x78\x9c garbage", "deflate", 400, "not valid deflate data"),
        (gzip.compress(b"\0" * (MAX_DECODED + 1), mtime=0), "gzip", 413, "decompresses to more than"),
    ],
)
def test_a_bad_or_bombing_content_encoding_is_refused(
    body: bytes, encoding: str, status: int, says: str
) -> None:
    with pytest.raises(EnvelopeError, match=says) as refused:
        decode_body(body, encoding)
    assert refused.value.status == status


def test_a_dsn_names_its_envelope_endpoint() -> None:
    assert envelope_url("http://public@127.0.0.1:9000/1") == "http://127.0.0.1:9000/api/1/envelope/"
    assert envelope_url("https://k@o1.ingest.sentry.io/42") == "https://o1.ingest.sentry.io/api/42/envelope/"
    for wrong in ("ftp://k@host/1", "http://k@host/", "http://k@host/abc", "not a url"):
        with pytest.raises(ValueError, match="not a Sentry DSN"):
            envelope_url(wrong)


def test_forwarding_goes_to_a_local_inbox_only() -> None:
    with pytest.raises(ValueError, match="only name a local inbox"):
        SentryCapture(forward_to="http://key@sentry.example.com/1")
    with pytest.raises(ValueError, match="only name a local inbox"):
        SentryCapture(forward_to="http://key@10.0.0.8:9000/1")
    SentryCapture(forward_to="http://key@127.0.0.1:9000/1")
    SentryCapture(forward_to="http://key@[::1]:9000/1")


async def test_hostile_requests_get_a_clear_4xx_and_the_endpoint_keeps_serving() -> None:
    refused: list[str] = []
    capture = SentryCapture(on_error=refused.append)
    url = "/api/1/envelope/"
    with anyio.fail_after(20):
        async with running_app(capture) as base, httpx2.AsyncClient(base_url=base, trust_env=False) as http:

            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(MAX_BODY // 65536 + 2):
                    yield b"x" * 65536

            answers = [
                await http.post("/api/1/store/", content=b"{}", headers=AUTH),
                await http.post("/api/x/envelope/", content=b"{}", headers=AUTH),
                await http.get(url, headers=AUTH),
                await http.post(url, content=sdk_envelope()),  # no sentry_key
                await http.post(url, content=b"{" * 100, headers=AUTH),
                await http.post(url, content=b"x" * (MAX_BODY + 1), headers=AUTH),
                await http.post(url, content=chunks(), headers=AUTH),  # no Content-Length: counted
                await http.post(url, content=b"abc", headers=AUTH | {"Content-Encoding": "br"}),
                await http.post(url, content=b"abc", headers=AUTH | {"Content-Encoding": "gzip"}),
                await http.post(url, content=b'{}\n{"type":"event"}\n[1]\n', headers=AUTH),
                await http.post(url, content=b'{}\n{"type":"event"}\n{"not json\n', headers=AUTH),
                await http.post(url, content=sdk_envelope(), headers=AUTH | {"Origin": "https://a.example"}),
            ]
            good = await http.post(
                url + "?sentry_key=public",
                content=gzip.compress(sdk_envelope()),
                headers={"Content-Encoding": "gzip"},
            )
    assert [a.status_code for a in answers] == [404, 404, 405, 401, 400, 413, 413, 415, 400, 400, 400, 403]
    for answer in answers:
        assert answer.headers["content-type"] == "application/json"
        assert answer.json()["detail"]
    assert answers[3].json()["detail"].startswith("no sentry_key")
    assert len(refused) == len(answers)
    assert refused[5] == f"POST {url}: HTTP 413: the body is {MAX_BODY + 1} bytes; the limit is {MAX_BODY}"
    assert good.status_code == 200
    assert good.json() == {"id": "a" * 32}
    assert [e["message"] for e in capture.events()] == ["boom"]  # only the good one was kept
    assert len(capture.envelopes) == len(capture.raw) == 1


async def test_sentry_capture_receives_the_sdks_events_and_forwards_them_to_an_inbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox = SentryCapture()
    with anyio.fail_after(20):
        async with running_app(inbox) as inbox_base:
            monkeypatch.setenv("FLEET_SENTRY_INBOX", f"http://public@{inbox_base.split('//')[1]}/7")
            async with sentry_capture() as sentry:
                sentry_sdk.init(dsn=sentry.dsn)
                sentry_sdk.capture_message("hello from the test")
                events = await sentry.wait_for_events()
            assert sentry_sdk.get_client().transport is None  # nothing reports anywhere after the block
    assert [e["message"] for e in events] == ["hello from the test"]
    assert [e["message"] for e in inbox.events()] == ["hello from the test"]
    assert sentry.errors == []
    assert inbox.raw == sentry.raw  # the bytes as the SDK sent them


async def test_a_huge_declared_body_is_refused_before_a_byte_of_it_is_read() -> None:
    capture = SentryCapture()
    with anyio.fail_after(20):
        async with running_app(capture) as base:
            host, port = base.removeprefix("http://").split(":")
            async with await anyio.connect_tcp(host, int(port)) as stream:
                await stream.send(
                    b"POST /api/1/envelope/ HTTP/1.1\r\nHost: x\r\nX-Sentry-Auth: Sentry sentry_key=k\r\n"
                    b"Content-Length: %d\r\n\r\n" % (DRAIN_LIMIT + 1)
                )
                answer = await stream.receive()  # nothing of the body was sent: no reading it first
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert f"the body is {DRAIN_LIMIT + 1} bytes; the limit is {MAX_BODY}".encode() in answer
    assert capture.envelopes == []
