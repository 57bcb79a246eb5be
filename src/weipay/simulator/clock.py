"""Simulated time: real time scaled by ``time_scale`` from a start point.

With ``time_scale = 1000`` WeChat's 24 h 4 min notification schedule takes about 87 real seconds.
The real clock is a parameter, so tests drive time by hand (:class:`ManualClock`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

__all__ = [
    "ManualClock",
    "ScaledClock",
    "beijing",
    "beijing_day",
    "compact",
    "dashed",
    "parse_compact",
    "parse_rfc3339",
    "rfc3339",
]


class ScaledClock:
    """``now() = start + (real() - real_start) * time_scale``.

    ``start`` defaults to the real time at construction; a restarted simulator passes the last simulated
    time it recorded, so simulated time never runs backwards across restarts.
    """

    def __init__(
        self, time_scale: float = 1.0, *, start: float | None = None, real: Callable[[], float] = time.time
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._real = real
        self._real_start = real()
        self._start = self._real_start if start is None else max(start, self._real_start)

    def __call__(self) -> float:
        """The simulated Unix time in seconds."""
        return self._start + (self._real() - self._real_start) * self.time_scale

    def real_seconds(self, simulated_s: float) -> float:
        """How many real seconds ``simulated_s`` simulated seconds take."""
        return simulated_s / self.time_scale


class ManualClock:
    """A clock that moves only when told to (for tests)."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        """The current (manual) Unix time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


_BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def beijing(unix_s: float) -> dt.datetime:
    """The Beijing wall-clock time (UTC+8, WeChat's time zone) of a Unix time."""
    return dt.datetime.fromtimestamp(unix_s, _BEIJING)


def rfc3339(unix_s: float) -> str:
    """``2018-06-08T10:34:56+08:00`` (API v3)."""
    return beijing(unix_s).replace(microsecond=0).isoformat()


def compact(unix_s: float) -> str:
    """``20141111170043`` (API v2 ``time_end``)."""
    return beijing(unix_s).strftime("%Y%m%d%H%M%S")


def dashed(unix_s: float) -> str:
    """``2020-01-04 18:34:24`` (v2 refund times, bills)."""
    return beijing(unix_s).strftime("%Y-%m-%d %H:%M:%S")


def parse_rfc3339(text: str) -> float:
    """Unix time of an RFC 3339 timestamp with an offset; ValueError otherwise."""
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None or "T" not in text:
        raise ValueError("time needs a date, a 'T' and an offset")
    return parsed.timestamp()


def beijing_day(date_text: str) -> tuple[float, float]:
    """``[start, end)`` Unix times of a Beijing calendar day given as ``YYYY-MM-DD`` or ``YYYYMMDD``."""
    fmt = "%Y-%m-%d" if "-" in date_text else "%Y%m%d"
    day = dt.datetime.strptime(date_text, fmt).replace(tzinfo=_BEIJING)
    return day.timestamp(), (day + dt.timedelta(days=1)).timestamp()


def parse_compact(text: str) -> float:
    """Unix time of a v2 ``yyyyMMddHHmmss`` Beijing time; ValueError otherwise."""
    return dt.datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=_BEIJING).timestamp()
