"""Running one SDK operation and turning whatever happened into a value plus a call-log record."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from weipay.sdk.errors import (
    ConfigurationError,
    OutcomeUnknown,
    ProtocolError,
    WeChatPayError,
    WeChatRefused,
)
from weipay.service.domain import CallRecord

__all__ = ["CallResult", "normalise_code", "run_call"]


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


def run_call(
    *,
    api: str,
    endpoint: str,
    mchid: str,
    call: Callable[[], Any],
    request: dict[str, Any] | None,
    describe: Callable[[Any], dict[str, Any]],
    clock: Callable[[], float],
) -> CallResult:
    """Call WeChat once through the SDK and classify the result. Never raises for WeChat's answers.

    The request summary holds only business fields we chose to send (never keys or signatures).
    """
    started = time.perf_counter()
    value: Any = None
    refused: WeChatRefused | None = None
    unknown: WeChatPayError | None = None
    try:
        value = call()
    except WeChatRefused as error:
        refused = error
    except (OutcomeUnknown, ProtocolError) as error:
        unknown = error
    except ConfigurationError as error:
        # Nothing was sent: a refusal by us rather than by WeChat, final until the configuration is fixed.
        refused = WeChatRefused("CONFIGURATION_ERROR", error.message)
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
        outcome, status, code, response, request_id = "ok", 200, None, describe(value), None
    record = CallRecord(
        direction="outbound", api=api, endpoint=endpoint, outcome=outcome, latency_ms=latency_ms, mchid=mchid,
        http_status=status, wechat_code=code, request_body=_summary(request), response_body=_summary(response),
        request_id=request_id, created_at=clock(),
    )  # fmt: skip
    return CallResult(value=value, refused=refused, unknown=unknown, record=record)
