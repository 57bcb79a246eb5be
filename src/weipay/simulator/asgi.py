"""The simulator as a bare ASGI app: real HTTP for third-party SDKs, the demo and other languages.

``mtls=True`` marks the app behind the HTTPS listener that required a client certificate signed by the
simulator CA, so ``/secapi/…`` is allowed there only. With ``run_ticks`` the lifespan runs ``sim.tick()``
in the background (refunds finishing, orders expiring, notifications delivered on schedule).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .core import Simulator
from .http_messages import SimRequest, SimResponse

__all__ = ["SimulatorApp", "create_app"]

log = logging.getLogger("weipay.simulator")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# WeChat's own bodies are small (v2 XML is capped at 64 KiB); anything far larger is refused unread.
MAX_BODY_BYTES = 1024 * 1024


class SimulatorApp:
    """ASGI 3 application around ``Simulator.handle``."""

    def __init__(self, sim: Simulator, *, mtls: bool = False, run_ticks: bool = True, tick_interval_s: float = 0.1,
                 ) -> None:
        self.sim = sim
        self.mtls = mtls
        self.run_ticks = run_ticks
        self.tick_interval_s = tick_interval_s
        self._ticker: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch one ASGI connection."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _tick_forever(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.sim.tick)
            except Exception:
                log.exception("simulator tick failed")
            await asyncio.sleep(self.tick_interval_s)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.run_ticks:
                    self._ticker = asyncio.create_task(self._tick_forever())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._ticker is not None:
                    self._ticker.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._ticker
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks = []
        size = 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                await self._send(send, SimResponse.json(413, {"code": "PARAM_ERROR", "message": "请求体过大"}))
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        raw_path = scope.get("raw_path") or scope["path"].encode()
        request = SimRequest(
            method=scope["method"],
            path=raw_path.decode("latin-1").partition("?")[0],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers={name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]},
            body=b"".join(chunks),
            mtls=self.mtls,
        )
        response = await asyncio.to_thread(self.sim.handle, request)
        if response.delay_s:
            await asyncio.sleep(response.delay_s)
        if response.lose_answer:
            # The work is done (or refused) but the merchant never hears back: hold the line past its timeout.
            await asyncio.sleep(self.sim.hang_s)
            response = SimResponse.text(504, "gateway timeout (fault plan)")
        await self._send(send, response)

    @staticmethod
    async def _send(send: Send, response: SimResponse) -> None:
        headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers.items()
                   if name != "content-length"]
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})


def create_app(sim: Simulator, *, mtls: bool = False, run_ticks: bool = True, tick_interval_s: float = 0.1
               ) -> SimulatorApp:
    """The ASGI app for ``sim`` (see :class:`SimulatorApp`)."""
    return SimulatorApp(sim, mtls=mtls, run_ticks=run_ticks, tick_interval_s=tick_interval_s)
