"""Mini-program shipping information: ``POST /v1/orders/{id}/shipping`` and the platform's message push.

``/notify/wxa/{mchid}`` is the URL to configure as the mini-program's message push (消息推送, 明文模式, JSON or
XML). WeChat signs each push in the query string: ``signature`` is the SHA-1 of the configured Token,
``timestamp`` and ``nonce`` sorted and joined; ``GET`` with ``echostr`` is the platform's check of the URL when
it is configured. A verified ``trade_manage_order_settlement`` message only schedules a ``get_order`` query
(the message is a hint, WeChat's answer decides), then the push is answered ``success``. 安全模式 (encrypted)
messages are refused with 400: configure 明文模式.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse

from weipay.sdk.errors import ProtocolError
from weipay.sdk.shipping import parse_settlement_event

from .. import usecases
from ..bootstrap import Services
from ..usecases.shipping import ShippingRequest, receipt_message, submit_shipping
from .auth import Principal
from .errors import ApiError
from .presenters import details_out
from .schemas import OrderOut
from .shipping_schemas import ShippingIn
from .state import ApiState

__all__ = ["build_shipping_router", "message_signature"]

log = logging.getLogger("weipay.service.shipping")

_MAX_MESSAGE_BYTES = 64 * 1024


def _services(request: Request) -> Services:
    state: ApiState = request.app.state.api
    return state.services


def _principal(request: Request) -> Principal:
    state: ApiState = request.app.state.api
    return state.authenticator.authenticate(request)


def message_signature(token: str, timestamp: str, nonce: str) -> str:
    """WeChat's message-push signature: SHA-1 of the three values sorted and joined."""
    return hashlib.sha1("".join(sorted((token, timestamp, nonce))).encode()).hexdigest()  # noqa: S324


def _verify(services: Services, mchid: str, signature: str, timestamp: str, nonce: str) -> None:
    merchant = services.merchants.get(mchid)
    if merchant is None:
        raise ApiError(404, "merchant_not_found", "no such merchant")
    token = merchant.settings.shipping.message_token
    if token is None:
        raise ApiError(403, "message_push_not_configured", "set merchants[].shipping.message_token first")
    expected = message_signature(token.get_secret_value(), timestamp, nonce)
    if not signature or not hmac.compare_digest(expected, signature.lower()):
        raise ApiError(401, "invalid_signature", "the message push signature does not match the Token")


def build_shipping_router() -> APIRouter:
    """The shipping endpoint under ``/v1`` and the message push under ``/notify/wxa``."""
    router = APIRouter()

    @router.post("/v1/orders/{order_id}/shipping", status_code=202, response_model=OrderOut, tags=["orders"],
                 summary="Submit a paid mini-program order's shipping information (uploaded to WeChat by a job)")
    def submit(order_id: str, body: ShippingIn, request: Request) -> OrderOut:
        services = _services(request)
        principal = _principal(request)
        principal.require_merchant()
        (mchid,) = principal.mchids
        shipping_list = [item.model_dump(exclude_none=True) for item in body.shipping_list]
        command = ShippingRequest(body.logistics_type, shipping_list, body.delivery_mode, body.is_all_delivered)
        submit_shipping(services.uow, services.clock, mchid, order_id, command)
        return details_out(usecases.order_details(services.uow, order_id, mchid))

    @router.get("/notify/wxa/{mchid}", tags=["notifications"], response_class=PlainTextResponse,
                summary="The mini-program platform's check of the message push URL (echoes echostr)")
    def check_url(
        mchid: str, request: Request, signature: Annotated[str, Query(max_length=64)] = "",
        timestamp: Annotated[str, Query(max_length=16)] = "", nonce: Annotated[str, Query(max_length=64)] = "",
        echostr: Annotated[str, Query(max_length=128)] = "",
    ) -> PlainTextResponse:
        _verify(_services(request), mchid, signature, timestamp, nonce)
        return PlainTextResponse(echostr)

    @router.post("/notify/wxa/{mchid}", tags=["notifications"], response_class=PlainTextResponse,
                 summary="The mini-program platform's message push (trade_manage_order_settlement)")
    async def message(
        mchid: str, request: Request, signature: Annotated[str, Query(max_length=64)] = "",
        timestamp: Annotated[str, Query(max_length=16)] = "", nonce: Annotated[str, Query(max_length=64)] = "",
        encrypt_type: Annotated[str, Query(max_length=16)] = "",
    ) -> Response:
        services = _services(request)
        _verify(services, mchid, signature, timestamp, nonce)
        if encrypt_type and encrypt_type != "raw":
            raise ApiError(400, "encrypted_message", "configure the message push in 明文模式 (plaintext)")
        body = await request.body()
        if len(body) > _MAX_MESSAGE_BYTES:
            raise ApiError(413, "body_too_large", "message too large")
        try:
            event = parse_settlement_event(body)
        except ProtocolError as error:
            if b"trade_manage_order_settlement" not in body:
                return PlainTextResponse("success")  # another event of the app: not ours to handle
            raise ApiError(400, "invalid_message", error.message) from None
        if event.merchant_id and event.merchant_id != mchid:
            raise ApiError(400, "invalid_message", "the message is about another merchant")
        order_id = await to_thread.run_sync(
            lambda: receipt_message(services.uow, services.clock, mchid, event.merchant_trade_no))
        log.info("settlement message for %s (order %s, settled: %s)", event.merchant_trade_no, order_id or "-",
                 event.settled)  # fmt: skip
        return PlainTextResponse("success")

    return router
