"""DingTalk (钉钉) custom robot, with its signing secret (加签).

Followed: DingTalk's "自定义机器人接入" / custom-robot-access (https://open.dingtalk.com/document/orgapp/
custom-robot-access, as quoted by the write-ups the docs search found). The webhook URL is
``https://oapi.dingtalk.com/robot/send?access_token=TOKEN``. With 加签, ``timestamp`` is the current time in
milliseconds, the string to sign is ``timestamp + "\\n" + secret``, HMAC-SHA256 keyed with the secret,
Base64, then URL-encoded, and both go in the query: ``&timestamp=…&sign=…``; DingTalk refuses a timestamp
more than an hour from its clock. Body: ``{"msgtype": "markdown", "markdown": {"title", "text"}}`` or
``{"msgtype": "text", "text": {"content"}}``; the answer is ``{"errcode": 0, "errmsg": "ok"}``. A robot takes
20 messages a minute and is throttled for 10 minutes beyond that: DingTalk itself advises summarising alerts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Literal
from urllib.parse import quote_plus

import httpx

from ._http import post_json, robot_verdict
from ._message import AlertMessage, fit_bytes

__all__ = ["DingTalkSink", "dingtalk_sign"]

_MAX_BYTES = 18_000  # DingTalk documents no exact bound; messages beyond ~20 KB are refused


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` query value: urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")))."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


class DingTalkSink:
    """Posts to one DingTalk robot, signed when a secret is configured."""

    def __init__(self, name: str, url: str, client: httpx.Client, secret: str | None = None,
                 msgtype: Literal["markdown", "text"] = "markdown") -> None:  # fmt: skip
        self.name = name
        self._url = url
        self._client = client
        self._secret = secret
        self._msgtype = msgtype

    def __repr__(self) -> str:
        return f"DingTalkSink(name={self.name!r}, signed={self._secret is not None})"

    def body(self, message: AlertMessage) -> bytes:
        """The JSON body DingTalk documents for ``msgtype``."""
        if self._msgtype == "markdown":
            text = fit_bytes(message.as_markdown(), _MAX_BYTES)
            payload = {"msgtype": "markdown", "markdown": {"title": message.headline()[:64], "text": text}}
        else:
            payload = {"msgtype": "text", "text": {"content": fit_bytes(message.as_text(), _MAX_BYTES)}}
        return json.dumps(payload, ensure_ascii=False).encode()

    def signed_url(self, now: float) -> str:
        """The webhook URL with ``timestamp`` and ``sign`` appended (unchanged without a secret)."""
        if self._secret is None:
            return self._url
        timestamp_ms = int(now * 1000)
        separator = "&" if "?" in self._url else "?"
        return f"{self._url}{separator}timestamp={timestamp_ms}&sign={dingtalk_sign(self._secret, timestamp_ms)}"

    def send(self, message: AlertMessage, now: float) -> None:
        """Post; raise ``AlertDeliveryFailed`` unless DingTalk answers errcode 0."""
        post_json(self._client, self.name, self.signed_url(now), self.body(message), robot_verdict("errcode"))
