"""When to try a WeChat call again, and how long to wait first. Pure decisions, no sleeping.

Two kinds of failure may be retried, always with the byte-identical request body:

* a :class:`~weipay.sdk.errors.TransportError` when the request is idempotent (a query, a close),
  or when the request provably never left (connection refused, connect timeout, pool exhausted);
* a :class:`~weipay.sdk.errors.WeChatRefused` whose ``retryable`` is true (``SYSTEM_ERROR``,
  ``SYSTEMERROR``, ``FREQUENCY_LIMITED``, 5xx…), for any operation, because WeChat documents these as
  "repeat with the same parameters".

Everything else gets exactly one attempt.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["RetryPolicy"]

#: A ``Retry-After`` longer than this is not waited for inside one call: the caller should come back later.
MAX_RETRY_AFTER_S = 60.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off with jitter, bounded in attempts and in delay.

    The delay before attempt ``n + 1`` is drawn from ``[d / 2, d]`` where
    ``d = min(max_delay_s, initial_delay_s * 2 ** (n - 1))``; a ``Retry-After`` header of at most
    ``max_retry_after_s`` seconds replaces it, a longer one ends the retries.
    ``sleep`` replaces the real sleep (``time.sleep`` or ``anyio.sleep``) in tests; it may return an
    awaitable for the async client. ``random`` returns a float in ``[0, 1)`` and makes jitter reproducible.
    """

    max_attempts: int = 3
    initial_delay_s: float = 0.5
    max_delay_s: float = 5.0
    max_retry_after_s: float = MAX_RETRY_AFTER_S
    sleep: Callable[[float], object | Awaitable[object]] | None = field(default=None, compare=False)
    random: Callable[[], float] = field(default=random.random, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_delay_s < 0 or self.max_delay_s < self.initial_delay_s:
            raise ValueError("need 0 <= initial_delay_s <= max_delay_s")

    def backoff_s(self, attempt: int) -> float:
        """The jittered delay after failed attempt number ``attempt`` (1-based)."""
        ceiling_s = min(self.max_delay_s, self.initial_delay_s * 2.0 ** (attempt - 1))
        return ceiling_s / 2 + self.random() * ceiling_s / 2

    def delay_s(self, attempt: int, headers: Mapping[str, str] | None = None) -> float | None:
        """How long to wait before the next attempt, or ``None`` when no further attempt is allowed."""
        if attempt >= self.max_attempts:
            return None
        retry_after_s = _retry_after_s(headers or {})
        if retry_after_s is None:
            return self.backoff_s(attempt)
        if retry_after_s > self.max_retry_after_s:
            return None
        return retry_after_s


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    # Only the delta-seconds form: WeChat does not send HTTP dates, and a date would need the wall clock.
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds)
