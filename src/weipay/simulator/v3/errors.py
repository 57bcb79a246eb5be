"""API v3 error answers: ``{"code", "message", "detail"?}`` with an HTTP status (PROTOCOL.md §3.7)."""

from __future__ import annotations

from typing import Any

__all__ = ["V3Error", "param_error"]


class V3Error(Exception):
    """An API v3 error answer."""

    def __init__(self, status: int, code: str, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail

    def payload(self) -> dict[str, Any]:
        """The JSON body."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            body["detail"] = self.detail
        return body


def param_error(field: str, issue: str, value: Any = None, location: str = "body") -> V3Error:
    """``400 PARAM_ERROR`` naming the field as WeChat does (``/amount/total``)."""
    detail: dict[str, Any] = {"field": field, "location": location, "issue": issue}
    if value is not None and not isinstance(value, dict | list):
        detail["value"] = value
    return V3Error(400, "PARAM_ERROR", f"参数错误: {field} {issue}", detail)
