"""Feishu / Lark (飞书) custom bot, signed (签名校验).

Followed: Feishu's "自定义机器人使用指南" (https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot;
the same page on open.larkoffice.com, found with the docs search). The webhook URL is
``https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN`` (Lark: ``open.larksuite.com``). With 签名校验,
``timestamp`` is the current time in **seconds**, the string ``timestamp + "\\n" + secret`` is the HMAC-SHA256
**key** over an empty message, Base64-encoded, and both go in the JSON body next to the message (unlike
DingTalk, nothing in the query, no URL encoding): ``{"timestamp": "…", "sign": "…", "msg_type": "text",
"content": {"text": …}}``. The answer is ``{"code": 0, "msg": "success"}`` (older bots: ``StatusCode: 0``);
19021 means a bad signature or a timestamp more than an hour off. Bodies are limited to 20 KB.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx

from ._http import post_json, robot_verdict
from ._message import AlertMessage, fit_bytes

__all__ = ["FeishuSink", "feishu_sign"]

_MAX_BYTES = 18_000


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """The ``sign`` field: base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", message=b""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class FeishuSink:
    """Posts to one Feishu/Lark bot, signed when a secret is configured."""

    def __init__(self, name: str, url: str, client: httpx.Client, secret: str | None = None) -> None:
        self.name = name
        self._url = url
        self._client = client
        self._secret = secret

    def __repr__(self) -> str:
        return f"FeishuSink(name={self.name!r}, signed={self._secret is not None})"

    def body(self, message: AlertMessage, now: float) -> bytes:
        """The JSON body Feishu documents: a text message, with ``timestamp`` and ``sign`` when signed."""
        payload: dict[str, Any] = {}
        if self._secret is not None:
            timestamp_s = int(now)
            payload = {"timestamp": str(timestamp_s), "sign": feishu_sign(self._secret, timestamp_s)}
        payload |= {"msg_type": "text", "content": {"text": fit_bytes(message.as_text(), _MAX_BYTES)}}
        return json.dumps(payload, ensure_ascii=False).encode()

    def send(self, message: AlertMessage, now: float) -> None:
        """Post; raise ``AlertDeliveryFailed`` unless Feishu answers code 0."""
        post_json(self._client, self.name, self._url, self.body(message, now), robot_verdict("code", "StatusCode"))
