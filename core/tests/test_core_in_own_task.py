"""in_own_task: a context held across a pytest-asyncio yield fixture is entered and left by one task."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import anyio
import anyio.lowlevel
import pytest
from anyio.abc import TaskGroup

from fleet_core.testing import in_own_task


@pytest.fixture
async def group() -> AsyncIterator[TaskGroup]:
    # Without in_own_task, pytest-asyncio's teardown (another task) fails leaving the task group's
    # cancel scope: "Attempted to exit cancel scope in a different task than it was entered in".
    async with in_own_task(anyio.create_task_group()) as tg:
        yield tg


async def test_a_task_group_held_by_a_fixture_runs_the_tests_tasks(group: TaskGroup) -> None:
    done = anyio.Event()

    async def work() -> None:
        done.set()

    group.start_soon(work)
    with anyio.fail_after(5):
        await done.wait()


async def test_the_context_is_entered_and_left_by_the_same_task_not_the_callers() -> None:
    tasks: list[asyncio.Task[object] | None] = []

    @contextlib.asynccontextmanager
    async def record() -> AsyncIterator[str]:
        tasks.append(asyncio.current_task())
        yield "value"
        tasks.append(asyncio.current_task())

    async with in_own_task(record()) as value:
        assert value == "value"
        assert len(tasks) == 1
    assert len(tasks) == 2
    assert tasks[0] is tasks[1]
    assert tasks[0] is not asyncio.current_task()


async def test_a_failure_to_enter_is_raised_to_the_caller() -> None:
    @contextlib.asynccontextmanager
    async def broken() -> AsyncIterator[None]:
        raise OSError("port in use")
        yield

    with pytest.raises(OSError, match="port in use"):
        async with in_own_task(broken()):
            pytest.fail("the body must not run")


async def test_a_crash_of_the_background_work_is_raised_on_leaving() -> None:
    async def crash() -> None:
        raise ValueError("server died")

    with pytest.raises(ExceptionGroup) as raised:  # noqa: PT012 - the crash surfaces at the block's exit
        async with in_own_task(anyio.create_task_group()) as tg:
            tg.start_soon(crash)
            await anyio.lowlevel.checkpoint()
    assert raised.group_contains(ValueError, match="server died")
