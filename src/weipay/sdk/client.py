"""The blocking client: drives :class:`~weipay.sdk._base.BaseClient` flows over ``httpx.Client``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import nullcontext
from types import TracebackType
from typing import Any, TypeVar, Unpack

import httpx

from ._base import DEFAULT_LIMITS, BaseClient, ClientOptions
from ._deadline import DeadlineTransport, deadline
from ._flow import Backoff, Flow, Pause, Reply, Send, read_capped, response_from_httpx
from .credentials import MerchantCredentials
from .operation import Operation
from .v3.notify import Notification
from .v3.raw import RawRequest, RawResponse

__all__ = ["Client"]

T = TypeVar("T")


class Client(BaseClient):
    """Call WeChat Pay from synchronous code. Thread-safe; use one per merchant and close it.

    ``transport`` replaces the network (``httpx.MockTransport``, the simulator's transport);
    ``secure_transport`` does the same for the client-certificate host and defaults to ``transport``.
    Every other keyword is :class:`~weipay.sdk._base.BaseClient`'s.

    >>> with Client(credentials) as client:          # doctest: +SKIP
    ...     order = client.call(QueryOrder(out_trade_no="1217752501201407033233368018"))
    """

    def __init__(
        self,
        credentials: MerchantCredentials,
        *,
        transport: httpx.BaseTransport | None = None,
        secure_transport: httpx.BaseTransport | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        **options: Unpack[ClientOptions],
    ) -> None:
        super().__init__(credentials, **options)
        self._limits = limits
        self._secure_transport = secure_transport or transport
        # Waiting for a pooled connection is not a socket operation: bound it by the deadline here.
        pool_s = (
            self.timeout.pool if self.deadline_s is None else min(self.timeout.pool or self.deadline_s, self.deadline_s)
        )
        self._exchange_timeout = httpx.Timeout(
            connect=self.timeout.connect, read=self.timeout.read, write=self.timeout.write, pool=pool_s
        )
        self._http = self._pool(transport, with_client_cert=False)
        self._secure_http: httpx.Client | None = None

    def call(self, operation: Operation[T]) -> T:
        """Run one operation: build, sign, send (retrying as the policy allows), verify, parse."""
        return self._drive(self._call_flow(operation))

    def v3_request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> RawResponse:
        """Any API v3 call weipay does not model, signed and verified: ``call(v3.RawRequest(...))``."""
        return self.call(RawRequest(method, path, query, body, idempotent))

    def v3_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify, decrypt and parse a v3 notification (downloads certificates on an unknown serial)."""
        return self._drive(self._notification_flow(headers, body))

    def close(self) -> None:
        """Close the connection pools."""
        self._http.close()
        if self._secure_http is not None:
            self._secure_http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # The send loop: the only code that differs from AsyncClient.
    def _drive(self, flow: Flow[T]) -> T:
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
                    reply = self._send(step)
                elif isinstance(step, Backoff):
                    (self.retry.sleep or time.sleep)(step.seconds)
                elif isinstance(step, Pause):
                    time.sleep(step.seconds)
        finally:
            flow.close()

    def _send(self, step: Send) -> Reply:
        client = self._secure_pool() if step.mtls else self._http
        started = time.perf_counter()
        try:
            with (
                deadline(self.deadline_s) if self.deadline_s is not None else nullcontext(),
                client.stream(
                    step.method, step.url, headers=step.headers, content=step.content, timeout=self._exchange_timeout
                ) as response,
            ):
                body = read_capped(response.iter_bytes(), self.max_response_bytes)
        except httpx.HTTPError as exc:
            return Reply(None, exc, time.perf_counter() - started)
        return Reply(response_from_httpx(response, body), None, time.perf_counter() - started)

    def _secure_pool(self) -> httpx.Client:
        if self._secure_http is None:
            self._secure_http = self._pool(self._secure_transport, with_client_cert=True)
        return self._secure_http

    def _pool(self, transport: httpx.BaseTransport | None, *, with_client_cert: bool) -> httpx.Client:
        verify = self._tls_context(with_client_cert=with_client_cert, transport=transport)
        if transport is None:  # our own sockets: give them the deadline
            transport = DeadlineTransport(verify=verify, limits=self._limits)
        return httpx.Client(transport=transport, verify=verify, timeout=self.timeout, limits=self._limits)
