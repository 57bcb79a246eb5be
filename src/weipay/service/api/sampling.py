"""Keep a few of a flood: at most ``limit`` events per key per window, the rest only counted.

Junk notifications (bad signatures, unknown serials, garbage) each cost a write transaction when every one was
stored as an anomaly; a flood of them pushed genuine notifications' p99 from ~10 ms to ~1.4 s and filled the
anomalies table. The metrics counter still counts every one; the table and the log get a sample.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

__all__ = ["WindowSampler"]


class WindowSampler:
    """``take(key)`` is True for the first ``limit`` calls per ``key`` in each ``window_s`` (fixed windows)."""

    def __init__(self, limit: int = 10, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[Hashable, tuple[float, int]] = {}
        self.skipped = 0  # events not kept since start (also in the notification outcome counter)

    def take(self, key: Hashable) -> bool:
        """Whether to keep this event."""
        now = self._clock()
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
            if now - start >= self._window_s:
                start, count = now, 0
            if count >= self._limit:
                self.skipped += 1
                return False
            if len(self._windows) > 10_000:  # keys are merchants × APIs; never let junk grow this dict
                self._windows.clear()
            self._windows[key] = (start, count + 1)
            return True
