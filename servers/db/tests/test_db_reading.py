"""The read path's event-loop economy: `ops._eager` reads what is already on the socket without a loop
round trip, bounded so other calls still get turns. Checked by counting waits, not timing."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from psycopg.waiting import Ready, Wait

from fleet_db import ops


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def reader(sock: socket.socket, reads: int, got: list[Any]) -> Any:
    """A psycopg-style generator: asks to wait for reading `reads` times, consuming a byte each time."""
    for _ in range(reads):
        ready = yield Wait.R
        got.append(ready)
        sock.recv(1)
    return "done"


def drive(gen: Any) -> tuple[list[Any], Any]:
    """Run a generator as psycopg's wait_async would, saying READY_R; the waits it was asked for."""
    asked = []
    try:
        state = next(gen)
        while True:
            asked.append(state)
            state = gen.send(Ready.R)
    except StopIteration as done:
        return asked, done.value


def test_eager_reads_what_is_already_there_without_waiting(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    b.sendall(b"x" * 5)
    got: list[Any] = []
    asked, value = drive(ops._eager(reader(a, 5, got), a.fileno()))
    assert value == "done"
    assert asked == []  # all five reads found data: no loop round trip at all
    assert got == [Ready.R] * 5


def test_eager_waits_on_the_loop_when_nothing_is_there(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    b.sendall(b"x")  # one byte now; the driver's "ready" for the rest is honest only if we send them
    got: list[Any] = []
    gen = ops._eager(reader(a, 3, got), a.fileno())
    assert next(gen) == Wait.R  # the first read was eager; the socket is empty again: wait on the loop
    b.sendall(b"xx")
    with pytest.raises(StopIteration) as done:
        gen.send(Ready.R)  # the loop's answer; the third read finds its byte without another wait
    assert done.value.value == "done"
    assert len(got) == 3


def test_eager_hands_the_loop_a_turn_after_its_budget(
    pair: tuple[socket.socket, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ops, "EAGER_READ_SECONDS", 0.0)  # every read is past the budget
    a, b = pair
    b.sendall(b"x" * 4)
    asked, value = drive(ops._eager(reader(a, 4, []), a.fileno()))
    assert value == "done"
    assert asked == [Wait.R] * 4


def test_eager_passes_writes_through(pair: tuple[socket.socket, socket.socket]) -> None:
    a, _ = pair

    def writer() -> Any:
        ready = yield Wait.W
        return ready

    asked, value = drive(ops._eager(writer(), a.fileno()))
    assert asked == [Wait.W]
    assert value == Ready.R  # whatever the loop said, unchanged
