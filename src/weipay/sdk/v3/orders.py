"""Payment operations: prepay (jsapi, native, app, h5), query and close.

Each is a frozen value whose ``build`` validates the input and returns the exact request, and whose
``parse`` turns WeChat's answer into a typed result. No I/O happens here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from ..errors import ConfigurationError, ProtocolError
from ..operation import Api, Context, HttpRequest, HttpResponse
from ..order_options import H5Info, OrderDetail, StoreInfo, check_bytes
from ._json import dump_json
from ._request import ACCEPT_JSON, JSON_HEADERS, path_segment, read_model
from ._time import format_rfc3339
from ._validate import (
    check_amount_fen,
    check_choice,
    check_client_ip,
    check_notify_url,
    check_out_trade_no,
    check_text,
    check_time_expire,
    check_transaction_id,
)
from .models import PrepayResult, Transaction
from .responses import expect_json, expect_no_content

__all__ = ["Channel", "CloseOrder", "CreateOrder", "QueryOrder"]

Channel = Literal["jsapi", "native", "app", "h5"]
_CHANNELS = ("jsapi", "native", "app", "h5")
_H5_TYPES = ("iOS", "Android", "Wap")
_PREPAY_FIELD = {"jsapi": "prepay_id", "app": "prepay_id", "native": "code_url", "h5": "h5_url"}


@dataclass(frozen=True, slots=True)
class CreateOrder:
    """Prepay: ``POST /v3/pay/transactions/{channel}`` → :class:`PrepayResult`.

    ``payer_openid`` is required for jsapi (official accounts and mini-programs), ``payer_client_ip``
    for h5. ``time_expire`` must be timezone-aware. The options WeChat takes besides: ``goods_tag``
    (coupons), ``detail`` (cost price, invoice id, goods for single-item coupons), ``profit_sharing``
    (``settle_info``), ``support_fapiao`` (the e-invoice entry), and in ``scene_info`` ``device_id``,
    ``store_info`` (both need ``payer_client_ip``) and, for h5, ``h5_info`` (else ``h5_type`` alone).
    Text lengths are UTF-8 bytes, as WeChat counts them.
    """

    channel: Channel
    appid: str
    description: str
    out_trade_no: str
    amount_fen: int
    notify_url: str
    payer_openid: str | None = None
    time_expire: datetime | None = None
    attach: str | None = None
    payer_client_ip: str | None = None
    h5_type: str = "Wap"
    currency: str = "CNY"
    goods_tag: str | None = None
    detail: OrderDetail | None = None
    profit_sharing: bool | None = None
    support_fapiao: bool | None = None
    device_id: str | None = None
    store_info: StoreInfo | None = None
    h5_info: H5Info | None = None

    def _validate(self) -> None:
        check_choice("channel", self.channel, _CHANNELS)
        check_text("appid", self.appid, max_chars=32)
        check_bytes("description", self.description, 127)
        check_out_trade_no(self.out_trade_no)
        check_amount_fen("amount_fen", self.amount_fen)
        check_notify_url(self.notify_url)
        check_choice("currency", self.currency, ("CNY",))
        check_bytes("attach", self.attach, 128, required=False)
        self._validate_options()
        if self.time_expire is not None:
            check_time_expire(self.time_expire)
        if self.channel == "jsapi":
            if self.payer_openid is None:
                raise ConfigurationError("payer_openid is required for jsapi payments (the payer's openid)")
            check_text("payer_openid", self.payer_openid, max_chars=128)
        elif self.payer_openid is not None:
            raise ConfigurationError("payer_openid applies to jsapi payments only; leave it out for " + self.channel)
        if self.channel == "h5":
            if self.payer_client_ip is None:
                raise ConfigurationError("payer_client_ip is required for h5 payments")
            check_client_ip(self.payer_client_ip)
            check_choice("h5_type", self.h5_type, _H5_TYPES)
        elif self.payer_client_ip is not None:
            check_client_ip(self.payer_client_ip)

    def _validate_options(self) -> None:
        check_bytes("goods_tag", self.goods_tag, 32, required=False)
        check_bytes("device_id", self.device_id, 32, required=False)
        for name in ("profit_sharing", "support_fapiao"):
            if getattr(self, name) not in (None, True, False):
                raise ConfigurationError(f"{name} must be True, False or None")
        for name, kind in (("detail", OrderDetail), ("store_info", StoreInfo), ("h5_info", H5Info)):
            value = getattr(self, name)
            if value is not None and not isinstance(value, kind):
                raise ConfigurationError(f"{name} must be a {kind.__name__}")
            if value is not None:
                value.check()
        if self.payer_client_ip is None and (self.device_id is not None or self.store_info is not None):
            raise ConfigurationError("scene_info needs payer_client_ip: give it with device_id or store_info")
        if self.h5_info is not None and self.channel != "h5":
            raise ConfigurationError("h5_info applies to h5 payments only")

    def body(self, mchid: str) -> dict[str, Any]:
        """The request object (``None`` members are dropped when serialised)."""
        scene_info: dict[str, Any] | None = None
        if self.payer_client_ip is not None:
            scene_info = {
                "payer_client_ip": self.payer_client_ip,
                "device_id": self.device_id,
                "store_info": self.store_info.v3_json() if self.store_info is not None else None,
            }
            if self.channel == "h5":
                scene_info["h5_info"] = (self.h5_info or H5Info(type=self.h5_type)).v3_json()
        return {
            "appid": self.appid,
            "mchid": mchid,
            "description": self.description,
            "out_trade_no": self.out_trade_no,
            "time_expire": format_rfc3339(self.time_expire) if self.time_expire is not None else None,
            "attach": self.attach,
            "notify_url": self.notify_url,
            "amount": {"total": self.amount_fen, "currency": self.currency},
            "goods_tag": self.goods_tag,
            "support_fapiao": self.support_fapiao,
            "payer": {"openid": self.payer_openid} if self.payer_openid is not None else None,
            "detail": self.detail.v3_json() if self.detail is not None else None,
            "scene_info": scene_info,
            "settle_info": {"profit_sharing": self.profit_sharing} if self.profit_sharing is not None else None,
        }

    def build(self, ctx: Context) -> HttpRequest:
        """Validate, then ``POST`` the prepay body."""
        self._validate()
        return HttpRequest(
            api=Api.V3,
            method="POST",
            path=f"/v3/pay/transactions/{self.channel}",
            body=dump_json(self.body(ctx.credentials.mchid)),
            headers=JSON_HEADERS,
        )

    def parse(self, response: HttpResponse, ctx: Context) -> PrepayResult:
        """``prepay_id`` (jsapi/app), ``code_url`` (native) or ``h5_url`` (h5)."""
        result = read_model(PrepayResult.from_json, expect_json(response, "prepay answer"), response)
        field = _PREPAY_FIELD[self.channel]
        if getattr(result, field) is None:
            raise ProtocolError(f"{self.channel} prepay answer lacks {field}", request_id=response.request_id)
        return result


@dataclass(frozen=True, slots=True)
class QueryOrder:
    """Query one order by ``out_trade_no`` or by WeChat's ``transaction_id`` (exactly one)."""

    out_trade_no: str | None = None
    transaction_id: str | None = None

    def build(self, ctx: Context) -> HttpRequest:
        """``GET …/out-trade-no/{no}?mchid=`` or ``GET …/id/{transaction_id}?mchid=``."""
        if (self.out_trade_no is None) == (self.transaction_id is None):
            raise ConfigurationError("QueryOrder needs exactly one of out_trade_no or transaction_id")
        if self.out_trade_no is not None:
            segment = "out-trade-no/" + path_segment(check_out_trade_no(self.out_trade_no))
        else:
            segment = "id/" + path_segment(check_transaction_id(self.transaction_id or ""))
        mchid = quote(ctx.credentials.mchid, safe="")
        return HttpRequest(
            api=Api.V3,
            method="GET",
            path=f"/v3/pay/transactions/{segment}?mchid={mchid}",
            headers=ACCEPT_JSON,
            idempotent=True,
        )

    def parse(self, response: HttpResponse, ctx: Context) -> Transaction:
        """The order as WeChat sees it now."""
        return read_model(Transaction.from_json, expect_json(response, "transaction"), response)


@dataclass(frozen=True, slots=True)
class CloseOrder:
    """Close an unpaid order: ``POST …/out-trade-no/{no}/close`` with ``{"mchid"}``, answered 204."""

    out_trade_no: str

    def build(self, ctx: Context) -> HttpRequest:
        """The close request."""
        segment = path_segment(check_out_trade_no(self.out_trade_no))
        return HttpRequest(
            api=Api.V3,
            method="POST",
            path=f"/v3/pay/transactions/out-trade-no/{segment}/close",
            body=dump_json({"mchid": ctx.credentials.mchid}),
            headers=JSON_HEADERS,
        )

    def parse(self, response: HttpResponse, ctx: Context) -> None:
        """Nothing on success; WeChat's refusal (e.g. the order was paid) otherwise."""
        expect_no_content(response)
