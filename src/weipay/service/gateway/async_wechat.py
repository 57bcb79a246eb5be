"""``AsyncWeChat``: how the API drives the use cases' flows without holding a thread while WeChat answers.

A flow (a use case written as a generator, see ``_calls``) runs in steps. The steps between WeChat calls are
database work: they run on a worker thread of the ``steps`` lane, where blocking SQLAlchemy is fastest and a
SQLite commit's fsync cannot stall the event loop. Each WeChat call it yields is made with the merchant's
``AsyncClient`` on the event loop, so a thousand calls waiting two seconds each hold no thread at all, and
reads (``GET`` an order, ``/healthz``, the console) find threads free.

At most ``max_in_flight`` flows per merchant run at once. One more is refused at once with
:class:`~weipay.service.domain.Busy` (the API's ``503`` with ``Retry-After``), before any of its steps
ran: queueing without limit would turn a slow WeChat into a pile of requests that time out at the client
and are retried on top of the pile.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any, Protocol, TypeVar, TypeVarTuple, Unpack

from weipay.sdk import AsyncClient
from weipay.service.domain import Busy

from ._calls import CallResult, Calls, call_async

__all__ = ["AsyncWeChat", "InFlight", "StepThreads"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

#: What a refused caller is told to wait: about one WeChat round trip under load.
BUSY_RETRY_AFTER_S = 1
#: Connections per async client (see ``_Shards``).
SHARD_CONNECTIONS = 16


class StepThreads(Protocol):
    """Where a flow's database steps run (``db.ThreadLane``)."""

    async def run(self, function: Callable[[Unpack[Ts]], T], *args: *Ts) -> T:
        """``function(*args)`` on a worker thread."""
        ...


class InFlight:
    """Counts the flows running per merchant against each merchant's limit; never waits."""

    def __init__(self, limits: Mapping[str, int]) -> None:
        self._limits = dict(limits)
        self._running: dict[str, int] = dict.fromkeys(self._limits, 0)
        # The API runs one event loop, but tests may run several (one per TestClient thread).
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, mchid: str) -> Iterator[None]:
        """Hold one of ``mchid``'s slots, or raise ``wechat_busy`` at once."""
        with self._lock:
            running = self._running.get(mchid, 0)
            if running >= self._limits.get(mchid, 0):
                raise Busy(
                    "wechat_busy",
                    "too many requests of this merchant are waiting on WeChat Pay; retry shortly",
                    retry_after_s=BUSY_RETRY_AFTER_S,
                )
            self._running[mchid] = running + 1
        try:
            yield
        finally:
            with self._lock:
                self._running[mchid] -= 1

    def running(self, mchid: str) -> int:
        """Flows of ``mchid`` running now."""
        return self._running.get(mchid, 0)


class _Shards:
    """One merchant's async clients on one event loop, each with a small connection pool; a call takes the least
    busy. (httpcore's pool scans all of its connections on every request and every answer: one pool of 256
    connections spent ~70 % of the API's CPU on that scan at 256 calls in flight, encode/httpcore#1035.)"""

    def __init__(self, make: Callable[[int], AsyncClient], connections: int) -> None:
        sizes = [SHARD_CONNECTIONS] * (connections // SHARD_CONNECTIONS)
        if connections % SHARD_CONNECTIONS:
            sizes.append(connections % SHARD_CONNECTIONS)
        self.clients = [make(size) for size in sizes]
        self._busy = [0] * len(sizes)

    @contextmanager
    def client(self) -> Iterator[AsyncClient]:
        index = min(range(len(self._busy)), key=self._busy.__getitem__)
        self._busy[index] += 1
        try:
            yield self.clients[index]
        finally:
            self._busy[index] -= 1


class AsyncWeChat:
    """Drives flows: database steps on worker threads, WeChat calls on the event loop.

    ``make_client(mchid, connections)`` builds an ``AsyncClient`` of a merchant. Its connections belong to the
    event loop that opened them, so each running loop gets its own clients (``weipay serve`` runs one), as many
    connections in all as the merchant's ``limits``: every flow in flight may hold one.
    """

    def __init__(
        self,
        make_client: Callable[[str, int], AsyncClient],
        limits: Mapping[str, int],
        clock: Callable[[], float],
        steps: StepThreads,
    ) -> None:
        self._make_client = make_client
        self._steps = steps
        self._limits = dict(limits)
        self._clock = clock
        self.in_flight = InFlight(limits)
        self._shards: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Shards]] = (
            weakref.WeakKeyDictionary()
        )

    async def run(self, mchid: str, flow: Callable[[], Calls[T]]) -> T:
        """Run the flow ``flow()`` within one of ``mchid``'s slots (``Busy`` when none is free)."""
        with self.in_flight.slot(mchid):
            return await self._drive(flow())

    async def _drive(self, calls: Calls[T]) -> T:
        result: CallResult | None = None
        while True:
            done, step = await self._steps.run(_advance, calls, result)
            if done:
                value: T = step
                return value
            with self._shards_of(step.mchid).client() as client:
                result = await call_async(client, step, self._clock)

    def _shards_of(self, mchid: str) -> _Shards:
        merchants = self._shards.setdefault(asyncio.get_running_loop(), {})
        shards = merchants.get(mchid)
        if shards is None:
            make = partial(self._make_client, mchid)
            shards = merchants[mchid] = _Shards(make, self._limits.get(mchid, SHARD_CONNECTIONS))
        return shards

    async def aclose(self) -> None:
        """Close the clients this event loop opened."""
        for shards in self._shards.pop(asyncio.get_running_loop(), {}).values():
            for client in shards.clients:
                await client.aclose()


def _advance(calls: Calls[T], result: CallResult | None) -> tuple[bool, Any]:
    """One database step: ``(False, the next exchange)`` or ``(True, the flow's value)``. (A StopIteration may not
    cross a coroutine: Python would turn it into a RuntimeError.)"""
    try:
        return False, calls.send(result)  # type: ignore[arg-type]  # a fresh generator takes None first
    except StopIteration as stop:
        return True, stop.value
