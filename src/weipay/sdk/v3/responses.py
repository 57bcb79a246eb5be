"""Reading API v3 answers: the one place that turns a status code into a value or an error.

Non-2xx answers become :class:`~weipay.sdk.errors.WeChatRefused` with WeChat's ``code``, ``message``
and ``detail``; 202 ("accepted, repeat the same request") is an :class:`OutcomeUnknown`; any other
surprise is a :class:`ProtocolError`.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import OutcomeUnknown, ProtocolError, WeChatRefused
from ..operation import HttpResponse
from ._json import load_json_object

__all__ = ["expect_json", "expect_no_content", "expect_status", "refusal"]

_MAX_MESSAGE_CHARS = 200


def refusal(response: HttpResponse) -> WeChatRefused:
    """The error WeChat's non-2xx answer stands for, even when its body is not the documented JSON."""
    try:
        data = json.loads(response.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("code"), str) and data["code"]:
        message = data.get("message")
        return WeChatRefused(
            data["code"],
            message if isinstance(message, str) else "",
            status=response.status,
            detail=data.get("detail"),
            request_id=response.request_id,
        )
    # A proxy or load balancer answered, not WeChat's API: keep the status as the code.
    return WeChatRefused(
        f"HTTP_{response.status}",
        "answer without WeChat's error JSON",
        status=response.status,
        request_id=response.request_id,
    )


def expect_status(response: HttpResponse, *expected: int) -> None:
    """Return when the status is one of ``expected``; raise the matching error otherwise."""
    if response.status in expected:
        return
    if response.status == 202:
        raise OutcomeUnknown(
            "WeChat accepted the request without finishing it (202): repeat the identical request or query",
            request_id=response.request_id,
        )
    if not 200 <= response.status < 300:
        raise refusal(response)
    raise ProtocolError(
        f"unexpected HTTP {response.status}; expected {', '.join(map(str, expected))}",
        request_id=response.request_id,
    )


def expect_json(response: HttpResponse, what: str, status: int = 200) -> dict[str, Any]:
    """The JSON object of a successful answer."""
    expect_status(response, status)
    try:
        return load_json_object(response.body, what)
    except ProtocolError as exc:
        raise ProtocolError(exc.message, request_id=response.request_id) from None


def expect_no_content(response: HttpResponse) -> None:
    """A ``204 No Content`` answer (close order)."""
    expect_status(response, 204)
