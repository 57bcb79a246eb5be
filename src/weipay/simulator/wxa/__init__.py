"""The mini-program platform (``api.weixin.qq.com``), as far as payments need it: access tokens and shipping.

::

    wire.py      errcode answers, JSON bodies, the access_token check
    tokens.py    POST /cgi-bin/stable_token (normal and forced refresh, with WeChat's limits)
    orders.py    a paid mini-program order as shipping management sees it (order_state, the get_order object)
    shipping.py  upload_shipping_info and notify_confirm_receive, with their rules and errcodes
    messages.py  receipt confirmed → trade completed, and the trade_manage_order_settlement message pushed
    api.py       the /wxa/sec/order/* routes

Funds of a trade-managed payment stay frozen (in the unsettled balance, order_state 1–3) until the trade
completes (4): then they become available.
"""

from __future__ import annotations

from . import api, messages, tokens

__all__ = ["api", "messages", "tokens"]
