"""One WeChat call as a value (:class:`Exchange`), and running it, blocking or async, into a classified result.

The gateway's methods are flows: generators that yield an :class:`Exchange` for every call they need and
receive its :class:`CallResult`. They make every decision (which operation, what a refusal means, a retry
from other funds) and do no I/O, so one flow serves the worker's blocking loop and the API's event loop,
as the SDK's own flows serve ``Client`` and ``AsyncClient``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from weipay.sdk import AsyncClient, Client, TokenCache, acall_with_access_token, call_with_access_token
from weipay.sdk.errors import (
    ConfigurationError,
    OutcomeUnknown,
    ProtocolError,
    WeChatPayError,
    WeChatRefused,
)
from weipay.service.domain import CallRecord

__all__ = ["CallResult", "Calls", "Exchange", "call_async", "call_blocking", "normalise_code"]

T = TypeVar("T")


# v3 spells some codes with underscores where v2 does not; the use cases speak the v2 spelling.
_CODE_ALIASES = {
    "ORDER_NOT_EXIST": "ORDERNOTEXIST",
    "ORDER_PAID": "ORDERPAID",
    "ORDER_CLOSED": "ORDERCLOSED",
    "NOT_ENOUGH": "NOTENOUGH",
    "RESOURCE_NOT_EXISTS": "RESOURCE_NOT_EXISTS",
}


def normalise_code(code: str | None) -> str | None:
    """WeChat's error code in one spelling across v2 and v3."""
    if code is None:
        return None
    return _CODE_ALIASES.get(code, code)


@dataclass(frozen=True, slots=True)
class CallResult:
    """The value (if WeChat answered yes), the refusal, or the reason the outcome is unknown."""

    value: Any
    refused: WeChatRefused | None
    unknown: WeChatPayError | None
    record: CallRecord


def _summary(data: dict[str, Any] | None) -> str | None:
    if data is None:
        return None
    return json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False, default=str)[:4000]


@dataclass(frozen=True, slots=True)
class Exchange:
    """One SDK call a flow needs answered: whose client, the operation (built inside the call, so the SDK's
    own argument checks end as a refusal, never as an exception that leaves a use case half-done) and how
    the call log shows it. ``request`` holds only business fields we chose to send (never keys or signatures).
    ``tokens`` is set for the mini-program platform's calls: the operation is sent with the app's access token
    from that cache (refreshed, and sent once more when WeChat rejects the token)."""

    mchid: str
    api: str
    endpoint: str
    operation: Callable[[], Any]
    request: dict[str, Any] | None
    describe: Callable[[Any], dict[str, Any]]
    tokens: TokenCache | None = None


#: A flow of WeChat calls that ends with a ``T``: what the gateway's methods and the use cases built on them are.
Calls = Generator[Exchange, CallResult, T]


def call_blocking(client: Client, exchange: Exchange, clock: Callable[[], float]) -> CallResult:
    """Make ``exchange`` with the blocking client. Never raises for WeChat's answers."""
    started = time.perf_counter()
    try:
        operation = exchange.operation()
        if exchange.tokens is not None:
            value = call_with_access_token(client, operation, exchange.tokens)
        else:
            value = client.call(operation)
    except WeChatPayError as error:
        return _classify(exchange, None, error, started, clock)
    return _classify(exchange, value, None, started, clock)


async def call_async(client: AsyncClient, exchange: Exchange, clock: Callable[[], float]) -> CallResult:
    """Make ``exchange`` with the async client: the caller's thread is free while WeChat answers."""
    started = time.perf_counter()
    try:
        operation = exchange.operation()
        if exchange.tokens is not None:
            value = await acall_with_access_token(client, operation, exchange.tokens)
        else:
            value = await client.call(operation)
    except WeChatPayError as error:
        return _classify(exchange, None, error, started, clock)
    return _classify(exchange, value, None, started, clock)


def _classify(
    exchange: Exchange, value: Any, error: WeChatPayError | None, started: float, clock: Callable[[], float]
) -> CallResult:
    """The value, the refusal or why the outcome is unknown, and the call-log record."""
    refused: WeChatRefused | None = None
    unknown: WeChatPayError | None = None
    if isinstance(error, WeChatRefused):
        refused = error
    elif isinstance(error, (OutcomeUnknown, ProtocolError)):
        unknown = error
    elif isinstance(error, ConfigurationError):
        # Nothing was sent: a refusal by us rather than by WeChat, final until the configuration is fixed.
        refused = WeChatRefused("CONFIGURATION_ERROR", error.message)
    elif error is not None:
        raise error
    latency_ms = int((time.perf_counter() - started) * 1000)
    if refused is not None:
        outcome, status, code = "refused", refused.status, normalise_code(refused.code)
        response = {"code": code, "message": refused.message}
        request_id = refused.request_id
    elif unknown is not None:
        outcome, status, code = "unknown", None, None
        response = {"error": type(unknown).__name__, "message": unknown.message}
        request_id = unknown.request_id
    else:
        outcome, status, code, response, request_id = "ok", 200, None, exchange.describe(value), None
    record = CallRecord(
        direction="outbound", api=exchange.api, endpoint=exchange.endpoint, outcome=outcome, latency_ms=latency_ms,
        mchid=exchange.mchid, http_status=status, wechat_code=code, request_body=_summary(exchange.request),
        response_body=_summary(response), request_id=request_id, created_at=clock(),
    )  # fmt: skip
    return CallResult(value=value, refused=refused, unknown=unknown, record=record)
