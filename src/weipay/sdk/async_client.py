"""The asyncio/trio client: drives :class:`~weipay.sdk._base.BaseClient` flows over ``httpx.AsyncClient``."""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, TypeVar, Unpack

import anyio
import httpx

from ._base import DEFAULT_LIMITS, BaseClient, ClientOptions
from ._flow import Backoff, Flow, Pause, Reply, Send, aread_capped, response_from_httpx
from .credentials import MerchantCredentials
from .operation import Operation
from .v3.notify import Notification
from .v3.raw import RawRequest, RawResponse

__all__ = ["AsyncClient"]

T = TypeVar("T")


class AsyncClient(BaseClient):
    """Call WeChat Pay from async code. Same behaviour as :class:`~weipay.sdk.Client`, awaited.

    ``transport`` replaces the network (``httpx.MockTransport``, ``httpx.ASGITransport``, the
    simulator's transport); ``secure_transport`` does the same for the client-certificate host and
    defaults to ``transport``.

    >>> async with AsyncClient(credentials) as client:          # doctest: +SKIP
    ...     order = await client.call(QueryOrder(out_trade_no="1217752501201407033233368018"))
    """

    def __init__(
        self,
        credentials: MerchantCredentials,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        secure_transport: httpx.AsyncBaseTransport | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        **options: Unpack[ClientOptions],
    ) -> None:
        super().__init__(credentials, **options)
        self._limits = limits
        self._secure_transport = secure_transport or transport
        self._http = httpx.AsyncClient(
            transport=transport,
            verify=self._tls_context(with_client_cert=False, transport=transport),
            timeout=self.timeout,
            limits=limits,
        )
        self._secure_http: httpx.AsyncClient | None = None

    async def call(self, operation: Operation[T]) -> T:
        """Run one operation: build, sign, send (retrying as the policy allows), verify, parse."""
        return await self._drive(self._call_flow(operation))

    async def v3_request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> RawResponse:
        """Any API v3 call weipay does not model, signed and verified: ``call(v3.RawRequest(...))``."""
        return await self.call(RawRequest(method, path, query, body, idempotent))

    async def v3_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify, decrypt and parse a v3 notification (downloads certificates on an unknown serial)."""
        return await self._drive(self._notification_flow(headers, body))

    async def aclose(self) -> None:
        """Close the connection pools."""
        await self._http.aclose()
        if self._secure_http is not None:
            await self._secure_http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    # The send loop: the only code that differs from Client.
    async def _drive(self, flow: Flow[T]) -> T:
        reply: Reply | None = None
        try:
            while True:
                try:
                    step = flow.send(reply)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                reply = None
                if isinstance(step, Send):
                    reply = await self._send(step)
                elif isinstance(step, Backoff):
                    await self._backoff(step.seconds)
                elif isinstance(step, Pause):
                    await anyio.sleep(step.seconds)
        finally:
            flow.close()

    async def _send(self, step: Send) -> Reply:
        client = self._secure_pool() if step.mtls else self._http
        started = time.perf_counter()
        try:
            # One deadline for the whole exchange: httpx's timeouts bound each socket operation alone.
            with anyio.fail_after(self.deadline_s):
                async with client.stream(step.method, step.url, headers=step.headers, content=step.content) as response:
                    body = await aread_capped(response.aiter_bytes(), self.max_response_bytes)
        except httpx.HTTPError as exc:
            return Reply(None, exc, time.perf_counter() - started)
        except TimeoutError:
            timed_out = httpx.ReadTimeout(f"no complete answer within the call's deadline of {self.deadline_s} s")
            return Reply(None, timed_out, time.perf_counter() - started)
        return Reply(response_from_httpx(response, body), None, time.perf_counter() - started)

    async def _backoff(self, seconds: float) -> None:
        if self.retry.sleep is None:
            await anyio.sleep(seconds)
            return
        waited = self.retry.sleep(seconds)
        if inspect.isawaitable(waited):
            await waited

    def _secure_pool(self) -> httpx.AsyncClient:
        if self._secure_http is None:
            self._secure_http = httpx.AsyncClient(
                transport=self._secure_transport,
                verify=self._tls_context(with_client_cert=True, transport=self._secure_transport),
                timeout=self.timeout,
                limits=self._limits,
            )
        return self._secure_http
