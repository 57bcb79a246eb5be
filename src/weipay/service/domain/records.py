"""Plain records that are not state machines: call log entries, anomalies, stored notifications, user sessions."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Anomaly", "CallRecord", "StoredNotification", "UserSession"]


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
    #: How many times the same unresolved anomaly was seen (repeats are counted, not stored again).
    occurrences: int = 1
    last_seen_at: float | None = None
    #: Who resolved it and what they noted (an operator in the console); None while open.
    resolved_by: str | None = None
    resolution_note: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class StoredNotification:
    """A raw notification as received (body redacted of nothing secret: it is WeChat's ciphertext or fields)."""

    id: int
    event_id: str
    mchid: str
    api: str
    kind: str
    outcome: str
    body: str
    received_at: float
    out_trade_no: str | None
    out_refund_no: str | None
    #: The decrypted, redacted facts as JSON (``None`` for notifications stored before they were kept).
    facts: str | None = None


@dataclass(frozen=True, slots=True)
class UserSession:
    """A mini-program user's session; ``session_key`` never leaves the server."""

    mchid: str
    appid: str
    openid: str
    unionid: str | None
    created_at: float
    expires_at: float

    def __repr__(self) -> str:
        return f"UserSession(appid={self.appid!r}, openid={self.openid!r})"
