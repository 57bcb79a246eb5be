"""The checkout page's words in 简体中文 (the default: payers of WeChat Pay read Chinese) and English.

The language is ``?lang=zh|en`` when given, else the payer's preferred one of the two by ``Accept-Language``
(its q-values), else Chinese.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["LANGUAGES", "Language", "choose_language", "texts"]

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")

_TEXTS: dict[Language, dict[str, str]] = {
    "zh": {
        "html_lang": "zh-CN",
        "title": "微信支付收银台",
        "payee": "收款方",
        "order_no": "订单号",
        "amount": "应付金额",
        "scan": "请使用微信「扫一扫」扫描二维码完成支付",
        "qr_alt": "微信支付二维码",
        "h5_button": "打开微信支付",
        "h5_hint": "将跳转到微信完成支付，支付后请返回本页查看结果",
        "other_channel": "请在发起支付的应用内完成支付，本页会自动显示结果",
        "start_failed": "暂时无法生成支付二维码，请稍后刷新重试",
        "refresh": "刷新",
        "pay_before": "请在 {time} 前完成支付（北京时间）",
        "time_left": "剩余时间",
        "waiting": "等待支付，支付后本页自动更新",
        "paid_title": "支付成功",
        "paid_text": "商户已收到您的付款，可以关闭本页",
        "expired_title": "订单已过期",
        "expired_text": "支付时间已过，请返回商户重新下单",
        "closed_title": "订单已关闭",
        "closed_text": "商户已关闭此订单，无需支付",
        "not_found_title": "链接无效或已过期",
        "not_found_text": "请返回商户获取新的支付链接",
        "other_language": "English",
    },
    "en": {
        "html_lang": "en",
        "title": "WeChat Pay checkout",
        "payee": "Payee",
        "order_no": "Order number",
        "amount": "Amount due",
        "scan": "Open WeChat, tap Scan and scan this code to pay",
        "qr_alt": "WeChat Pay QR code",
        "h5_button": "Pay with WeChat",
        "h5_hint": "WeChat opens to take the payment; come back to this page for the result",
        "other_channel": "Finish paying in the app where you started; this page shows the result by itself",
        "start_failed": "The payment code could not be created just now. Refresh to try again",
        "refresh": "Refresh",
        "pay_before": "Pay before {time} (Beijing time)",
        "time_left": "Time left",
        "waiting": "Waiting for your payment; this page updates by itself",
        "paid_title": "Payment received",
        "paid_text": "The merchant has received your payment. You can close this page",
        "expired_title": "This order has expired",
        "expired_text": "The time to pay has passed. Go back to the merchant to order again",
        "closed_title": "This order is closed",
        "closed_text": "The merchant closed this order; there is nothing to pay",
        "not_found_title": "This link is invalid or has expired",
        "not_found_text": "Ask the merchant for a new payment link",
        "other_language": "中文",
    },
}


def texts(language: Language) -> dict[str, str]:
    """The page's words in ``language``."""
    return _TEXTS[language]


def choose_language(asked: str | None, accept_language: str | None) -> Language:
    """``?lang=`` if it names a language we have, else the best of ours by ``Accept-Language``, else Chinese."""
    if asked in LANGUAGES:
        return asked
    best: Language = "zh"
    best_q = 0.0
    for item in (accept_language or "").split(",")[:20]:
        tag, _, params = item.strip().partition(";")
        language = tag.strip().lower().split("-")[0]
        if language not in LANGUAGES:
            continue
        q = _quality(params)
        # Strictly greater: of equal weights the earlier tag wins (browsers list the preferred one first); q=0 means
        # "not this one".
        if q > best_q:
            best, best_q = language, q
    return best


def _quality(params: str) -> float:
    """The ``q=`` of one Accept-Language item (1 when absent, 0 when malformed)."""
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0
