"""The one Retry-After parser and retry budget every backend client uses (gitea, sentry, wiki)."""

from __future__ import annotations

import email.utils
from collections.abc import Callable

import httpx2
import pytest

from fleet_core import RetryPolicy, retry_after_seconds

NOW = 1_000_000.0


def clock() -> float:
    return NOW


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("7", 7.0),
        (" 3 ", 3.0),
        ("1.5", 1.5),  # not RFC 9110, but servers send it; reading it beats ignoring it
        (email.utils.formatdate(NOW + 30, usegmt=True), 30.0),
        (email.utils.formatdate(NOW - 30, usegmt=True), 0.0),  # a date in the past: go now
        ("Thu, 01 Jan 1970 00:00:00 -0000", 0.0),  # a zone-less date reads as UTC
    ],
)
def test_delay_seconds_and_http_dates_are_read(value: str, seconds: float) -> None:
    assert retry_after_seconds({"Retry-After": value}, now=clock) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", "  ", "-1", "soon", "nan", "inf", "1e999", "Mon, 99 Foo 2026"])
def test_an_absent_or_unreadable_header_is_none_never_a_crash(value: str) -> None:
    assert retry_after_seconds({"Retry-After": value}, now=clock) is None


def test_the_header_name_is_case_insensitive_for_any_mapping() -> None:
    assert retry_after_seconds({"retry-after": "4"}) == 4.0
    assert retry_after_seconds({"RETRY-AFTER": "4"}) == 4.0
    assert retry_after_seconds(httpx2.Headers({"Retry-After": "4"})) == 4.0
    assert retry_after_seconds({}) is None


class Sleeps:
    def __init__(self) -> None:
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


async def test_without_retry_after_the_waits_double_up_to_the_cap_and_the_budget_is_bounded() -> None:
    sleeps = Sleeps()
    retries = RetryPolicy(retries=4, backoff_seconds=0.5, max_backoff_seconds=1.5).start(sleep=sleeps)
    assert [await retries.wait() for _ in range(6)] == [True] * 4 + [False] * 2
    assert sleeps.slept == [0.5, 1.0, 1.5, 1.5]
    assert retries.attempts == 5  # the first + 4 retries, never more


async def test_a_short_retry_after_is_waited_out_exactly() -> None:
    sleeps = Sleeps()
    retries = RetryPolicy(retries=2, max_retry_after_seconds=5).start(sleep=sleeps)
    assert await retries.wait({"Retry-After": "5"})
    assert sleeps.slept == [5.0]
    assert retries.retry_after == 5.0


async def test_a_long_retry_after_gives_up_at_once_and_says_how_long() -> None:
    # Waiting an hour would hold the caller's request open; the error quotes the figure instead.
    sleeps = Sleeps()
    retries = RetryPolicy(retries=2, max_retry_after_seconds=5).start(sleep=sleeps)
    assert not await retries.wait({"Retry-After": "3600"})
    assert sleeps.slept == []
    assert retries.retry_after == 3600.0


async def test_no_retries_means_one_attempt_but_retry_after_is_still_reported() -> None:
    sleeps = Sleeps()
    retries = RetryPolicy(retries=0).start(sleep=sleeps)
    assert not await retries.wait({"Retry-After": "2"})
    assert (sleeps.slept, retries.retry_after, retries.attempts) == ([], 2.0, 1)


async def test_an_unreadable_retry_after_falls_back_to_the_backoff() -> None:
    sleeps = Sleeps()
    retries = RetryPolicy(retries=1, backoff_seconds=0.25).start(sleep=sleeps)
    assert await retries.wait({"Retry-After": "whenever"})
    assert sleeps.slept == [0.25]


async def test_the_default_sleep_really_sleeps_through_anyio() -> None:
    retries = RetryPolicy(retries=1, backoff_seconds=0).start()
    assert await retries.wait({"Retry-After": "0"})


@pytest.mark.parametrize(
    "make",
    [
        lambda: RetryPolicy(retries=-1),
        lambda: RetryPolicy(backoff_seconds=-0.1),
        lambda: RetryPolicy(max_backoff_seconds=-1),
        lambda: RetryPolicy(max_retry_after_seconds=-1),
    ],
    ids=["retries", "backoff_seconds", "max_backoff_seconds", "max_retry_after_seconds"],
)
def test_a_negative_policy_is_refused(make: Callable[[], RetryPolicy]) -> None:
    with pytest.raises(ValueError, match="negative"):
        make()
