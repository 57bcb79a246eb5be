"""The simulator as an httpx transport (sync and async): in-process, no port, same core as the servers.

``mtls=True`` stands for the HTTPS port's client-certificate handshake, so ``/secapi/…`` is allowed: give it
to the client's secure (v2 refund) transport. An injected lost answer surfaces as ``httpx.ReadTimeout``.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from .core import Simulator
from .http_messages import SimRequest, SimResponse

__all__ = ["SimulatorTransport"]


def _to_sim(request: httpx.Request, body: bytes, mtls: bool) -> SimRequest:
    raw_path = request.url.raw_path.decode("ascii")
    path, _, query = raw_path.partition("?")
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in request.headers.raw}
    return SimRequest(method=request.method, path=path, query=query, headers=headers, body=body, mtls=mtls)


def _to_httpx(response: SimResponse, request: httpx.Request) -> httpx.Response:
    if response.lose_answer:
        raise httpx.ReadTimeout("the simulator lost the answer (fault plan)", request=request)
    return httpx.Response(response.status, headers=response.headers, content=response.body, request=request)


class SimulatorTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """``httpx.Client(transport=SimulatorTransport(sim))`` talks to ``sim`` directly.

    ``latency_cap_s`` bounds injected latency so in-process tests stay fast.
    """

    def __init__(self, sim: Simulator, mtls: bool = False, *, latency_cap_s: float = 0.5) -> None:
        self.sim = sim
        self.mtls = mtls
        self.latency_cap_s = latency_cap_s

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Synchronous send."""
        response = self.sim.handle(_to_sim(request, request.read(), self.mtls))
        if response.delay_s:
            time.sleep(min(response.delay_s, self.latency_cap_s))
        return _to_httpx(response, request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Asynchronous send (the core runs in a worker thread: it touches SQLite)."""
        body = await request.aread()
        response = await asyncio.to_thread(self.sim.handle, _to_sim(request, body, self.mtls))
        if response.delay_s:
            await asyncio.sleep(min(response.delay_s, self.latency_cap_s))
        return _to_httpx(response, request)
