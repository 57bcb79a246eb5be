"""Plain records that are not state machines: the call log entry and the anomaly."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Anomaly", "CallRecord"]


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One exchange with WeChat, outbound (we called) or inbound (a notification), bodies redacted."""

    direction: str  # "outbound" | "inbound"
    api: str  # "v2" | "v3" | "login"
    endpoint: str
    outcome: str  # succeeded | failed | pending | unknown | rejected
    latency_ms: int
    mchid: str | None = None
    http_status: int | None = None
    wechat_code: str | None = None
    request_body: str | None = None
    response_body: str | None = None
    request_id: str | None = None
    order_id: str | None = None
    attempt_id: str | None = None
    refund_id: str | None = None
    created_at: float = 0.0
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Anomaly:
    """Something that must not change state but must be seen: a mismatching notification, a double payment."""

    kind: str
    detail: str
    created_at: float
    mchid: str | None = None
    order_id: str | None = None
    attempt_id: str | None = None
    refund_id: str | None = None
    resolved_at: float | None = None
    id: int | None = None
