"""Alerts: tell the operators' group chat when WeChat refuses, money looks wrong, or work is stuck.

Raising an alert is the use cases' business (``weipay.service.usecases.alerting``: an occurrence and an
``alert`` job in the caller's transaction). This package delivers them: the ``alert`` job's handler
(:meth:`AlertRouter.deliver`) sends each configured sink, in its platform's documented format, the
occurrences it has not heard of yet. Sinks: WeCom (企业微信) group robot, DingTalk robot (加签), Feishu/Lark
bot (签名校验), a generic webhook signed like the merchant webhooks, and the log. No web framework here.

Errors: a sink raises :class:`AlertDeliveryFailed` (never naming its URL, which holds the robot's key).
"""

from __future__ import annotations

from ._dingtalk import DingTalkSink, dingtalk_sign
from ._errors import AlertDeliveryFailed
from ._feishu import FeishuSink, feishu_sign
from ._log import LogSink
from ._message import AlertMessage
from ._router import AlertRoute, AlertRouter, AlertSink
from ._webhook import WebhookSink
from ._wecom import WeComSink

__all__ = [
    "AlertDeliveryFailed",
    "AlertMessage",
    "AlertRoute",
    "AlertRouter",
    "AlertSink",
    "DingTalkSink",
    "FeishuSink",
    "LogSink",
    "WeComSink",
    "WebhookSink",
    "dingtalk_sign",
    "feishu_sign",
]
