"""Posting one JSON body to a robot and reading its verdict; transport failures become AlertDeliveryFailed.

The robots answer HTTP 200 for most refusals and put the verdict in the body (``errcode`` for WeCom and
DingTalk, ``code`` for Feishu), so each sink passes the check that reads its own answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from ._errors import AlertDeliveryFailed

__all__ = ["post_json", "robot_verdict"]

# The verdict of a robot's answer: None if accepted, else a short reason (its code and message).
Verdict = Callable[[httpx.Response], str | None]


def post_json(client: httpx.Client, sink: str, url: str, body: bytes, verdict: Verdict,
              headers: dict[str, str] | None = None) -> None:  # fmt: skip
    """POST ``body`` as JSON; raise :class:`AlertDeliveryFailed` unless ``verdict`` accepts the answer."""
    try:
        response = client.post(url, content=body, headers={"content-type": "application/json", **(headers or {})})
    except httpx.HTTPError as error:
        # The exception's text may quote the URL, which holds the robot's key: name only its type.
        raise AlertDeliveryFailed(sink, type(error).__name__) from None
    reason = verdict(response)
    if reason is not None:
        raise AlertDeliveryFailed(sink, reason)


def robot_verdict(*code_fields: str) -> Verdict:
    """Accept HTTP 200 whose JSON body has one of ``code_fields`` equal to 0."""

    def verdict(response: httpx.Response) -> str | None:
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        try:
            answer: Any = json.loads(response.content)
        except ValueError:
            return "answer is not JSON"
        if not isinstance(answer, dict):
            return "answer is not a JSON object"
        for name in code_fields:
            if name in answer:
                if answer[name] == 0:
                    return None
                message = answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage") or ""
                return f"{name}={answer[name]} {str(message)[:120]}"
        return f"answer has none of {', '.join(code_fields)}"

    return verdict
