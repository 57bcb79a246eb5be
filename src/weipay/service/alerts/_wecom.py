"""WeCom (企业微信) group robot.

Followed: WeCom's "群机器人配置说明" (https://developer.work.weixin.qq.com/document/path/91770, as quoted
by the WeCom robot write-ups found with the docs search). The webhook URL is
``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY`` and the key is the only credential (no
signature), so the URL is a secret. Body: ``{"msgtype": "markdown", "markdown": {"content": …}}`` (at most
4096 bytes) or ``{"msgtype": "text", "text": {"content": …}}`` (at most 2048 bytes), UTF-8 JSON. The answer
is ``{"errcode": 0, "errmsg": "ok"}``; a robot takes at most 20 messages a minute, which is why alerts
are grouped before they get here.
"""

from __future__ import annotations

import json
from typing import Literal

import httpx

from ._http import post_json, robot_verdict
from ._message import AlertMessage, fit_bytes

__all__ = ["WeComSink"]

_MAX_BYTES = {"markdown": 4096, "text": 2048}


class WeComSink:
    """Posts to one WeCom group robot."""

    def __init__(self, name: str, url: str, client: httpx.Client,
                 msgtype: Literal["markdown", "text"] = "markdown") -> None:  # fmt: skip
        self.name = name
        self._url = url
        self._client = client
        self._msgtype = msgtype

    def __repr__(self) -> str:
        return f"WeComSink(name={self.name!r})"

    def body(self, message: AlertMessage) -> bytes:
        """The JSON body WeCom documents for ``msgtype``."""
        text = message.as_markdown() if self._msgtype == "markdown" else message.as_text()
        content = fit_bytes(text, _MAX_BYTES[self._msgtype])
        return json.dumps({"msgtype": self._msgtype, self._msgtype: {"content": content}}, ensure_ascii=False).encode()

    def send(self, message: AlertMessage, now: float) -> None:
        """Post; raise ``AlertDeliveryFailed`` unless WeCom answers errcode 0."""
        post_json(self._client, self.name, self._url, self.body(message), robot_verdict("errcode"))
