"""The message an alert becomes: one value, rendered as text or markdown for the robots.

Operators read these in a Chinese-speaking team's group chat, so labels are Chinese and times are Beijing
time (UTC+8, no daylight saving). Detail fields keep the seeds' names for a refused call: what was sent
(传入参数) and what came back (微信输出), taken from the call log's redacted summaries.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from weipay.service.db.alert_log import AlertGroup

__all__ = ["AlertMessage", "fit_bytes"]

_BEIJING = dt.timezone(dt.timedelta(hours=8), "CST")
_SEVERITY_LABELS = {"info": "提示", "warning": "警告", "error": "错误", "critical": "严重"}
_FIELD_LABELS = {
    "sent": "传入参数", "answer": "微信输出", "operation": "操作", "endpoint": "接口", "wechat_code": "微信错误码",
    "http_status": "HTTP 状态", "request_id": "微信请求号", "attempt_id": "支付尝试", "refund_id": "退款",
    "transaction_id": "微信支付单号", "amount_fen": "金额(分)", "job_kind": "任务类型", "attempts": "尝试次数",
    "last_error": "最后错误", "reason": "原因",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """What one sink is told: an alert key's occurrences it has not heard about yet."""

    alert_key: str
    kind: str
    severity: str
    title: str
    count: int
    first_at: float
    last_at: float
    mchid: str | None = None
    order_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    continued: bool = False  # the sink was already told about earlier occurrences of this window
    id: str = ""  # unique per message: key, window and the last occurrence reported

    @classmethod
    def from_group(cls, group: AlertGroup, *, continued: bool) -> AlertMessage:
        """The message for ``group`` (its first occurrence's facts; the last one's order if they differ)."""
        first, last = group.first, group.last
        detail = dict(first.detail)
        if group.count > 1 and last.order_id and last.order_id != first.order_id:
            detail["last_order_id"] = last.order_id
        return cls(
            alert_key=first.alert_key, kind=first.kind, severity=first.severity, title=first.title,
            count=group.count, first_at=first.created_at, last_at=last.created_at, mchid=first.mchid,
            order_id=first.order_id, detail=detail, continued=continued,
            id=f"{first.alert_key}@{int(first.window_start)}#{last.id}",
        )  # fmt: skip

    def headline(self) -> str:
        """One line: severity, title, and the count when it is a storm."""
        label = _SEVERITY_LABELS.get(self.severity, self.severity)
        more = "(续)" if self.continued else ""
        times = f" ×{self.count}" if self.count > 1 else ""
        return f"【weipay 告警·{label}】{more}{self.title}{times}"

    def facts(self) -> list[tuple[str, str]]:
        """Labelled lines after the headline, in a fixed order."""
        lines = [("类型", self.kind)]
        if self.mchid:
            lines.append(("商户号", self.mchid))
        if self.order_id:
            lines.append(("订单", self.order_id))
        when = _beijing(self.first_at)
        if self.count > 1:
            when = f"{when} 至 {_beijing(self.last_at)},共 {self.count} 次"
        lines.append(("时间", when))
        for name, value in self.detail.items():
            if value is None or value == "" or name == "anomaly":
                continue
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
            lines.append((_FIELD_LABELS.get(name, name), text))
        return lines

    def as_text(self) -> str:
        """Plain text (WeCom and DingTalk ``text``, Feishu ``text``, the log)."""
        return "\n".join([self.headline(), *(f"{label}: {value}" for label, value in self.facts())])

    def as_markdown(self) -> str:
        """Markdown in the subset WeCom and DingTalk robots render (headings, bold, quotes)."""
        body = [f"> **{label}**: {_inline(value)}" for label, value in self.facts()]
        return "\n".join([f"### {self.headline()}", *body])

    def as_data(self) -> dict[str, Any]:
        """A JSON-ready object (the generic webhook's ``data``)."""
        return {
            "alert_key": self.alert_key, "kind": self.kind, "severity": self.severity, "title": self.title,
            "count": self.count, "first_at": self.first_at, "last_at": self.last_at, "mchid": self.mchid,
            "order_id": self.order_id, "detail": self.detail, "continued": self.continued,
        }  # fmt: skip


def _beijing(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, tz=_BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _inline(value: str) -> str:
    # A newline would end the quote block; the robots' markdown has no escaping, so keep values on one line.
    return value.replace("\r", " ").replace("\n", " ")


def fit_bytes(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8 (on a character boundary), marked when cut."""
    encoded = text.encode()
    if len(encoded) <= max_bytes:
        return text
    mark = "…(已截断)"
    room = max_bytes - len(mark.encode())
    return encoded[:room].decode(errors="ignore") + mark
