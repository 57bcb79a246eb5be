"""The checkout page starting a Native attempt itself, when the order has none open.

Kept to one function, called exactly as ``POST /v1/orders/{id}/payments`` calls the use case, so that a change
in how the API drives WeChat (``services.wechat``) is made here in one place too.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

from .. import usecases
from ..bootstrap import Services
from ..domain import Channel, Order

__all__ = ["payer_ip", "start_native"]


async def start_native(services: Services, order: Order, client_ip: str) -> usecases.PaymentStart:
    """Start (or resume) a Native attempt of ``order`` with the merchant's default API; raises the use case's
    errors (``order_already_paid``, ``payment_in_progress``, ``wechat_busy``, WeChat's refusals)."""
    merchant = services.merchant_config(order.mchid)
    return await services.wechat.run(order.mchid, lambda: usecases.start_payment_flow(
        services.uow, services.gateway, services.clock, merchant, order.id, Channel.NATIVE, None, None, client_ip,
    ))  # fmt: skip


def payer_ip(request: Request) -> str:
    """The browser's address (v2 Native sends it as ``spbill_create_ip``); loopback when the peer is no IP
    (test clients, unix sockets). Behind a proxy, ``weipay serve`` has already put the forwarded address here."""
    peer = request.client.host if request.client else ""
    try:
        return str(ipaddress.ip_address(peer))
    except ValueError:
        return "127.0.0.1"
