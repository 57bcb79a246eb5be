"""Raising alerts: an occurrence and the job that delivers it, written in the caller's transaction.

Whoever records something the operators must hear about (an anomaly, a refused WeChat call) raises an
alert in the same transaction, so the alert exists exactly when the fact does, and delivering it is the
job queue's business: a robot that is down is retried by the worker and never blocks a payment.

Storms become one message with a count. Occurrences are grouped by ``alert_key`` (what happened, to
which merchant, never which order: a thousand late payments are one story) within fixed windows of
:data:`ALERT_WINDOW_S`. The first occurrence of a window schedules the ``alert`` job due now; any later
one schedules, at most once, a second job due when the window ends. Each job reports to each sink the
occurrences that sink has not been told about yet (the delivery side keeps, per sink, the last reported
occurrence), so a window costs at most two messages per sink however long the storm: "X happened" and
"X happened 4,999 more times". Both jobs are unique by their dedupe keys, so the queue's own uniqueness
is the rate limit; occurrences are appended, never counted on one row, so concurrent writers in a storm
never wait for each other's row lock.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from enum import StrEnum

from weipay.service.domain import CallRecord

from .stores import NewAlertEvent, NewJob, Stores

__all__ = [
    "ALERT",
    "ALERT_WINDOW_S",
    "Severity",
    "alert_for_anomaly",
    "raise_alert",
    "record_wechat_call",
]

ALERT = "alert"  # the job kind
ALERT_WINDOW_S = 600.0  # DingTalk and WeCom robots accept 20 messages a minute; one story per 10 minutes
_DETAIL_MAX_CHARS = 4000


class Severity(StrEnum):
    """How urgent an alert is; sinks take those at or above their ``min_severity``."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Order of urgency (info 0 … critical 3)."""
        return list(Severity).index(self)


def raise_alert(
    tx: Stores,
    key: str,
    *,
    kind: str,
    severity: Severity,
    title: str,
    now: float,
    mchid: str | None = None,
    order_id: str | None = None,
    detail: Mapping[str, object] | None = None,
) -> None:
    """Record one occurrence of ``key`` and make sure a delivery job covers it (see the module docstring)."""
    window_start = math.floor(now / ALERT_WINDOW_S) * ALERT_WINDOW_S
    text = json.dumps(dict(detail or {}), sort_keys=True, default=str, ensure_ascii=False)
    if len(text) > _DETAIL_MAX_CHARS:
        text = json.dumps({"truncated": text[:_DETAIL_MAX_CHARS]}, ensure_ascii=False)
    tx.alerts.add(
        NewAlertEvent(
            alert_key=key[:160], window_start=window_start, kind=kind[:48], severity=severity.value,
            title=title[:200], detail=text, created_at=now, mchid=mchid, order_id=order_id,
        )
    )  # fmt: skip
    payload = {"alert_key": key[:160], "window_start": window_start}
    first = NewJob(ALERT, payload, due_at=now, created_at=now, dedupe_key=_job_key(key, window_start, "first"))
    if tx.jobs.enqueue_many([first]) == 0:
        # Not the first of its window: the rest of the window is reported once, when it ends.
        summary_key = _job_key(key, window_start, "rest")
        rest = NewJob(ALERT, payload, due_at=window_start + ALERT_WINDOW_S, created_at=now, dedupe_key=summary_key)
        tx.jobs.enqueue_many([rest])


def _job_key(key: str, window_start: float, part: str) -> str:
    # The queue's dedupe_key holds 160 characters: a long alert key is cut, its window and part never are.
    suffix = f"@{int(window_start)}:{part}"
    return f"{ALERT}:{key[: 160 - len(ALERT) - 1 - len(suffix)]}{suffix}"


# Anomalies that mean money may be wrong are critical; junk and our own bookkeeping surprises are warnings.
_ANOMALY_SEVERITY = {
    "double_payment": Severity.CRITICAL,
    "late_payment": Severity.CRITICAL,
    "transaction_id_reused": Severity.CRITICAL,
    "paid_after_terminal": Severity.CRITICAL,
    "external_refund": Severity.ERROR,
    "refund_abnormal": Severity.ERROR,
    "refund_failed": Severity.ERROR,
    "job_dead": Severity.ERROR,
    "notification_mismatch": Severity.ERROR,
    "query_mismatch": Severity.ERROR,
}
_ANOMALY_TITLES = {
    "double_payment": "重复支付(已自动退款)",
    "late_payment": "迟到的支付(订单已关闭或失败后才付款)",
    "transaction_id_reused": "同一微信支付单号出现在两笔支付上",
    "paid_after_terminal": "终态后收到支付成功",
    "external_refund": "微信侧出现本系统未发起的退款",
    "refund_abnormal": "退款异常(ABNORMAL,需人工处理)",
    "refund_failed": "退款失败",
    "refund_closed": "退款被关闭",
    "job_dead": "后台任务多次失败后放弃",
    "notification_mismatch": "微信通知与订单不符",
    "query_mismatch": "微信查询结果与订单不符",
}


def alert_for_anomaly(
    tx: Stores, kind: str, now: float, *, mchid: str | None, order_id: str | None, detail: Mapping[str, object]
) -> None:
    """The alert every anomaly raises, keyed by kind and merchant (and job kind for dead jobs)."""
    if kind == "job_dead" and detail.get("job_kind") == ALERT:
        return  # a dead alert job is an anomaly and a log line; alerting it through the same sinks would loop
    key = f"anomaly:{kind}:{mchid or '-'}"
    if kind == "job_dead":
        key += f":{detail.get('job_kind')}"
    severity = _ANOMALY_SEVERITY.get(kind, Severity.WARNING)  # unverifiable (junk) notifications and the like
    title = _ANOMALY_TITLES.get(kind) or ("无法验证的微信通知" if kind.startswith("unverifiable") else f"异常: {kind}")
    facts = {"anomaly": kind, **detail}
    raise_alert(tx, key, kind=kind, severity=severity, title=title, now=now, mchid=mchid, order_id=order_id,
                detail=facts)  # fmt: skip


# What a WeChat call is for, by endpoint (v2 and v3 paths), as the seeds' robots named it.
_OPERATIONS = {
    "pay/unifiedorder": "统一下单",
    **{f"v3/pay/transactions/{channel}": "统一下单" for channel in ("jsapi", "native", "app", "h5")},
    "pay/closeorder": "关闭订单",
    "secapi/pay/refund": "申请退款",
    "v3/pay/transactions/close": "关闭订单",
    "v3/refund/domestic/refunds": "申请退款",
    "v3/refund/domestic/refunds/apply-abnormal-refund": "异常退款处理",
}
# Refusals that are answers, not failures: the use case resolves them (the order was already paid or closed;
# a refund short of unsettled funds is sent again from the balance, and a final refusal alerts as refund_failed).
_EXPECTED_CODES = frozenset({"ORDERPAID", "ORDERCLOSED", "ORDERNOTEXIST", "NOTENOUGH", "OUT_TRADE_NO_USED"})


def record_wechat_call(
    tx: Stores,
    call: CallRecord,
    now: float,
    *,
    order_id: str | None = None,
    attempt_id: str | None = None,
    refund_id: str | None = None,
) -> None:
    """Log a WeChat call and, if it created, closed or refunded and WeChat refused it (or its outcome is
    unknown), alert with what was sent and what came back (the call log's redacted summaries: no secrets)."""
    tx.calls.add(call, order_id=order_id, attempt_id=attempt_id, refund_id=refund_id)
    operation = _OPERATIONS.get(call.endpoint)
    if operation is None or call.outcome not in ("refused", "unknown"):
        return
    if call.outcome == "refused" and call.wechat_code in _EXPECTED_CODES:
        return
    if operation == "关闭订单" and call.wechat_code == "FREQUENCY_LIMITED":
        return  # v2's five-minute close rule: the use case defers the close, nothing is wrong
    refused = call.outcome == "refused"
    code = call.wechat_code or ("TIMEOUT_OR_UNVERIFIED" if not refused else "REFUSED")
    title = f"微信{'拒绝' if refused else '无确定结果'}: {operation} ({code})"
    detail = {
        "operation": operation, "endpoint": call.endpoint, "api": call.api, "wechat_code": call.wechat_code,
        "http_status": call.http_status, "request_id": call.request_id, "attempt_id": attempt_id,
        "refund_id": refund_id, "sent": call.request_body, "answer": call.response_body,
    }  # fmt: skip
    key = f"wechat_{call.outcome}:{call.mchid or '-'}:{call.endpoint}:{code}"
    raise_alert(tx, key, kind=f"wechat_{call.outcome}", severity=Severity.ERROR if refused else Severity.WARNING,
                title=title, now=now, mchid=call.mchid, order_id=order_id, detail=detail)  # fmt: skip
