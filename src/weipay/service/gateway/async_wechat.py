"""``AsyncWeChat``: how the API drives the use cases' flows without holding a thread while WeChat answers.

A flow (a use case written as a generator, see ``_calls``) runs in steps. The steps between WeChat calls are
database work: they run on a worker thread, where blocking SQLAlchemy is fastest and a SQLite commit's fsync
cannot stall the event loop. Each WeChat call it yields is made with the merchant's ``AsyncClient`` on the
event loop, so a thousand calls waiting two seconds each hold no thread at all, and reads (``GET`` an order,
``/healthz``, the console) find threads free.

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
from typing import Any, TypeVar

from anyio import to_thread

from weipay.sdk import AsyncClient
from weipay.service.domain import Busy

from ._calls import CallResult, Calls, Exchange, call_async

__all__ = ["AsyncWeChat", "InFlight"]

T = TypeVar("T")

#: What a refused caller is told to wait: about one WeChat round trip under load.
BUSY_RETRY_AFTER_S = 1


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


class AsyncWeChat:
    """Drives flows: database steps on worker threads, WeChat calls on the event loop.

    ``make_client(mchid)`` builds a merchant's ``AsyncClient``. Its connections belong to the event loop that
    opened them, so each running loop gets its own clients (``weipay serve`` runs one).
    """

    def __init__(
        self,
        make_client: Callable[[str], AsyncClient],
        limits: Mapping[str, int],
        clock: Callable[[], float],
    ) -> None:
        self._make_client = make_client
        self._clock = clock
        self.in_flight = InFlight(limits)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, AsyncClient]] = (
            weakref.WeakKeyDictionary()
        )

    async def run(self, mchid: str, flow: Callable[[], Calls[T]]) -> T:
        """Run the flow ``flow()`` within one of ``mchid``'s slots (``Busy`` when none is free)."""
        with self.in_flight.slot(mchid):
            return await self._drive(flow())

    async def _drive(self, calls: Calls[T]) -> T:
        result: CallResult | None = None
        while True:
            done, step = await to_thread.run_sync(_advance, calls, result)
            if done:
                value: T = step
                return value
            result = await call_async(self._client(step), step, self._clock)

    def _client(self, exchange: Exchange) -> AsyncClient:
        clients = self._clients.setdefault(asyncio.get_running_loop(), {})
        client = clients.get(exchange.mchid)
        if client is None:
            client = clients[exchange.mchid] = self._make_client(exchange.mchid)
        return client

    async def aclose(self) -> None:
        """Close the clients this event loop opened."""
        clients = self._clients.pop(asyncio.get_running_loop(), {})
        for client in clients.values():
            await client.aclose()


def _advance(calls: Calls[T], result: CallResult | None) -> tuple[bool, Any]:
    """One database step: ``(False, the next exchange)`` or ``(True, the flow's value)``. (A StopIteration may not
    cross a coroutine: Python would turn it into a RuntimeError.)"""
    try:
        return False, calls.send(result)  # type: ignore[arg-type]  # a fresh generator takes None first
    except StopIteration as stop:
        return True, stop.value
