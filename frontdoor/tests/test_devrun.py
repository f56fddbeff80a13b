"""`fleet dev` around its edges: the free-port pre-check and the processes a killed run leaves."""

from __future__ import annotations

import socket

from fleet_frontdoor.devrun import _port_free


def _time_wait_port() -> int:
    """A loopback port whose only trace is a connection in TIME_WAIT, as right after Ctrl-C."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn and bind_loopback do
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
        served.close()  # the server side closes first: its end (this port) goes to TIME_WAIT
        client.recv(1)
        client.close()
    return port


def test_a_port_left_in_time_wait_by_a_stopped_fleet_counts_as_free() -> None:
    port = _time_wait_port()
    with socket.socket() as plain:  # what the pre-check did before: a false "ports already in use"
        try:
            plain.bind(("127.0.0.1", port))
            reproduced = False
        except OSError:
            reproduced = True
    assert reproduced
    assert _port_free(f"http://127.0.0.1:{port}")


def test_a_port_someone_listens_on_is_still_busy() -> None:
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert not _port_free(f"http://127.0.0.1:{busy.getsockname()[1]}")
