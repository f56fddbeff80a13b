"""Bounded retries for backend clients: one `Retry-After` parser and one retry budget, shared by every
server (each used to carry its own copy, and the copies had drifted apart).

A client's request loop stays its own (which statuses are safe to resend differs per backend), but the
arithmetic is here:

    retries = policy.start()
    while True:
        response = await send()
        if retryable(response) and await retries.wait(response.headers):
            continue
        ...  # answer, or an error that may quote `retries.retry_after`

`wait` sleeps and returns True while attempts remain; it returns False at once when the budget is spent
or the backend asks for a longer pause than `max_retry_after_seconds` (waiting that out would only hold
the caller's request open: the error says when to come back instead).
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC

import anyio

__all__ = ["Retries", "RetryPolicy", "retry_after_seconds"]


def retry_after_seconds(headers: Mapping[str, str], *, now: Callable[[], float] = time.time) -> float | None:
    """RFC 9110 §10.2.3 `Retry-After` as seconds from now (never negative): delay-seconds or an
    HTTP-date. None when the header is absent or unreadable, so the caller falls back to its backoff."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None or not (value := value.strip()):
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": RFC 5322's "UTC, but don't trust the zone"
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - now())
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard one call tries: `retries` further attempts after the first; without a `Retry-After`
    the waits double from `backoff_seconds` up to `max_backoff_seconds`."""

    retries: int = 2
    backoff_seconds: float = 0.2
    max_backoff_seconds: float = 2.0
    max_retry_after_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.retries < 0 or min(self.backoff_seconds, self.max_backoff_seconds) < 0:
            raise ValueError("retries and backoffs must not be negative")
        if self.max_retry_after_seconds < 0:
            raise ValueError("max_retry_after_seconds must not be negative")

    def start(self, *, sleep: Callable[[float], Awaitable[None]] = anyio.sleep) -> Retries:
        """A fresh budget for one call."""
        return Retries(self, sleep=sleep)


class Retries:
    """One call's retry budget (from `RetryPolicy.start`)."""

    def __init__(
        self, policy: RetryPolicy, *, sleep: Callable[[float], Awaitable[None]] = anyio.sleep
    ) -> None:
        self.policy = policy
        self.attempts = 1  # attempts made so far: the first is under way when the budget starts
        self.retry_after: float | None = None  # the last `Retry-After` the backend sent, in seconds
        self._sleep = sleep

    def delay(self, headers: Mapping[str, str] | None = None) -> float | None:
        """Seconds to wait before the next attempt, or None to give up now (no attempt left, or the
        backend asked for a longer pause than the policy waits out). Records `retry_after`."""
        self.retry_after = retry_after_seconds(headers) if headers is not None else None
        if self.attempts > self.policy.retries:
            return None
        if self.retry_after is not None:
            return self.retry_after if self.retry_after <= self.policy.max_retry_after_seconds else None
        backoff = self.policy.backoff_seconds * 2.0 ** (self.attempts - 1)
        return min(backoff, self.policy.max_backoff_seconds)

    async def wait(self, headers: Mapping[str, str] | None = None) -> bool:
        """Sleep before the next attempt and return True; or return False at once to give up.
        Pass the response's headers when there is a response (so `Retry-After` is honoured)."""
        delay = self.delay(headers)
        if delay is None:
            return False
        self.attempts += 1
        await self._sleep(delay)
        return True
