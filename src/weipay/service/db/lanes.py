"""Lanes of worker threads for database work done on behalf of an event loop.

Blocking database calls leave the event loop for a worker thread. If every kind of work shared one pool,
a burst of writers waiting for SQLite's single write lock (or for PostgreSQL row locks) would hold all of
its threads and a health check or a status read would queue behind them. Each lane has its own threads,
so reads never wait for a thread that a writer holds.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TypeVar, TypeVarTuple, Unpack

from anyio import CapacityLimiter, to_thread

__all__ = ["ThreadLane"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class ThreadLane:
    """At most ``threads`` calls of this lane run on worker threads at once; the rest wait without a thread."""

    def __init__(self, name: str, threads: int) -> None:
        self.name = name
        self.threads = threads
        # A limiter belongs to the event loop it is first used on (``weipay serve`` runs one; tests may run more).
        self._limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = (
            weakref.WeakKeyDictionary()
        )

    async def run(self, function: Callable[[Unpack[Ts]], T], *args: *Ts) -> T:
        """``function(*args)`` on one of this lane's threads."""
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = CapacityLimiter(self.threads)
        return await to_thread.run_sync(function, *args, limiter=limiter)

    def __repr__(self) -> str:
        return f"ThreadLane({self.name!r}, threads={self.threads})"
