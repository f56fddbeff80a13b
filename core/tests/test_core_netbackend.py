"""AsyncioBackend: the backend clients' connections without anyio's per-read/write overhead (issue 18).

Each test runs a small HTTP/1.1 server on loopback and talks to it through `backend_transport()`,
the transport `OutageTransport` uses by default: answers, keep-alive reuse, a connection the server
closed while idle, timeouts, refusals, resets, flow control on a large answer, and TLS.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpcore2
import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fleet_core import AsyncioBackend, OutageTransport, backend_transport
from fleet_core._netbackend import HIGH_WATER, AsyncioStream

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.heads: list[bytes] = []
        self.port = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def head(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head)
        return head


@asynccontextmanager
async def running(
    handler: Callable[[Server], Handler], tls: ssl.SSLContext | None = None
) -> AsyncIterator[Server]:
    server = Server(lambda r, w: asyncio.sleep(0))
    server.handler = handler(server)
    listener = await asyncio.start_server(server.serve, "127.0.0.1", 0, ssl=tls)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()


def answer(body: bytes, *, close: bool = False) -> bytes:
    extra = b"connection: close\r\n" if close else b""
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), extra, body)


def keep_alive(server: Server) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await server.head(reader)
            writer.write(answer(b'{"ok": true}'))
            await writer.drain()

    return handle


async def test_answers_and_keeps_the_connection_alive() -> None:
    with anyio.fail_after(10):
        async with running(keep_alive) as server, httpx2.AsyncClient(transport=backend_transport()) as http:
            for _ in range(3):
                response = await http.get(f"http://127.0.0.1:{server.port}/x", headers={"Sudo": "alice"})
                assert response.status_code == 200
                assert response.json() == {"ok": True}
    assert server.connections == 1  # one connection, reused
    assert all(b"\r\nsudo: alice\r\n" in head.lower() for head in server.heads)


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    closed = asyncio.Event()

    def one_answer_then_close(server: Server) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.head(reader)
            writer.write(answer(b"{}"))  # keep-alive announced, then closed (an idle timeout)
            await writer.drain()
            writer.close()
            await writer.wait_closed()
            closed.set()

        return handle

    with anyio.fail_after(10):
        async with running(one_answer_then_close) as server:
            outage = OutageTransport("Gitea")
            async with httpx2.AsyncClient(transport=outage) as http:
                assert (await http.get(f"http://127.0.0.1:{server.port}/")).status_code == 200
                await closed.wait()  # the FIN is sent; the client's loop may not have seen it yet
                assert (await http.get(f"http://127.0.0.1:{server.port}/")).status_code == 200
            assert outage.down is None  # not mistaken for an outage
    assert server.connections == 2


async def test_a_server_that_does_not_answer_times_out() -> None:
    def silent(server: Server) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.head(reader)
            await reader.read()  # never answers

        return handle

    with anyio.fail_after(10):
        async with running(silent) as server, httpx2.AsyncClient(transport=backend_transport()) as http:
            with pytest.raises(httpx2.ReadTimeout):
                await http.get(f"http://127.0.0.1:{server.port}/", timeout=0.2)


async def test_a_refused_connection_is_a_connect_error_and_an_outage() -> None:
    async with running(keep_alive) as server:
        port = server.port
    outage = OutageTransport("Gitea")
    with anyio.fail_after(10):
        async with httpx2.AsyncClient(transport=outage) as http:
            with pytest.raises(httpx2.ConnectError):
                await http.get(f"http://127.0.0.1:{port}/")
    assert outage.down == "ConnectError"


async def test_a_reset_before_the_answer_is_an_error_not_an_empty_answer() -> None:
    def reset(server: Server) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.head(reader)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part")
            await writer.drain()
            writer.transport.abort()  # RST

        return handle

    with anyio.fail_after(10):
        async with running(reset) as server, httpx2.AsyncClient(transport=backend_transport()) as http:
            with pytest.raises((httpx2.ReadError, httpx2.RemoteProtocolError)):
                await http.get(f"http://127.0.0.1:{server.port}/")


async def test_a_large_answer_is_not_read_ahead_into_memory() -> None:
    size = 16 * 1024 * 1024
    writers: list[asyncio.StreamWriter] = []

    def large(server: Server) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writers.append(writer)
            writer.write(b"x" * size)
            await writer.drain()

        return handle

    with anyio.fail_after(20):
        async with running(large) as server:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", server.port)
            assert isinstance(stream, AsyncioStream)
            for _ in range(1000):  # nobody reads: the buffer fills up to the mark, and reading pauses
                if stream._connection.reading_paused:
                    break
                await asyncio.sleep(0.01)
            assert stream._connection.reading_paused
            for _ in range(10):  # and stays there while the server still has most of it to send
                await asyncio.sleep(0.01)
                assert len(stream._connection.buffer) <= HIGH_WATER + 1024 * 1024  # one read past
            assert writers[0].transport.get_write_buffer_size() > 0
            received = 0
            while received < size:
                received += len(await stream.read(65536, timeout=5))
            assert received == size
            assert await stream.read(65536, timeout=5) == b""  # then the end of the stream
            await stream.aclose()


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


async def test_tls_is_verified(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    with anyio.fail_after(10):
        async with running(keep_alive, tls=server_tls) as server:
            async with httpx2.AsyncClient(transport=backend_transport(verify=trusting)) as http:
                for _ in range(2):
                    response = await http.get(f"https://localhost:{server.port}/")
                    assert response.json() == {"ok": True}
            assert server.connections == 1
            # A certificate nobody vouched for is refused, as anyio's backend refused it.
            async with httpx2.AsyncClient(transport=OutageTransport("Gitea")) as http:
                with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await http.get(f"https://localhost:{server.port}/")


async def test_the_backend_clients_use_it() -> None:
    """OutageTransport's default transport opens its connections with AsyncioBackend (an httpx2 that
    stops taking it fails here, not silently slower)."""
    pool = OutageTransport("Gitea").inner._pool  # type: ignore[attr-defined]
    assert isinstance(pool, httpcore2.AsyncConnectionPool)
    assert isinstance(pool._network_backend, AsyncioBackend)


def test_the_same_on_uvloop(tmp_path: Path) -> None:
    """The servers run on uvloop (its transports are not asyncio's classes): keep-alive, an idle
    connection the server closed, and TLS, there too."""
    import uvloop

    async def scenario() -> None:
        await test_answers_and_keeps_the_connection_alive()
        await test_a_connection_the_server_closed_while_idle_is_not_reused()
        await test_tls_is_verified(tmp_path)
        assert isinstance(asyncio.get_running_loop(), uvloop.Loop)

    uvloop.run(scenario())
