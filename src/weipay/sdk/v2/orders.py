"""Order operations of API v2: unified order (prepay), order query, close order."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from ..errors import ConfigurationError
from ..operation import Context, HttpRequest, HttpResponse
from ..order_options import H5Info, OrderDetail, StoreInfo, check_bytes
from . import _checks as check
from ._fields import (
    coupons,
    format_compact_time,
    optional,
    optional_compact_time,
    optional_fen,
    required,
)
from .envelope import check_response, signed_request
from .models import V2Order, V2PrepayResult
from .signing import SignType

__all__ = ["TRADE_TYPES", "CloseOrder", "OrderQuery", "UnifiedOrder"]

TRADE_TYPES = ("JSAPI", "NATIVE", "APP", "MWEB")
# WeChat refuses an expiry closer than this (older pages say 5 minutes, newer ones 1 minute).
_MIN_EXPIRY_S = 60


def _check_scene_info(scene_info: str | None) -> str:
    if scene_info is None:
        raise ConfigurationError('MWEB needs scene_info, a JSON string like {"h5_info": {"type": "Wap", ...}}')
    try:
        parsed = json.loads(scene_info)
    except ValueError:
        raise ConfigurationError("scene_info must be a JSON string") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("h5_info"), dict):
        raise ConfigurationError('scene_info must be a JSON object with an "h5_info" object')
    return check.text(scene_info, "scene_info", 256) or ""


def _compact_json(value: dict[str, object]) -> str:
    """A JSON string without the absent (``None``) members, Chinese kept as is."""
    def drop(item: object) -> object:
        if isinstance(item, dict):
            return {key: drop(member) for key, member in item.items() if member is not None}
        if isinstance(item, list):
            return [drop(member) for member in item]
        return item

    return json.dumps(drop(value), ensure_ascii=False, separators=(",", ":"))


def _check_detail(detail: str) -> str:
    try:
        parsed = json.loads(detail)
    except ValueError:
        raise ConfigurationError('detail must be a JSON string like {"goods_detail": [...]}') from None
    if not isinstance(parsed, dict):
        raise ConfigurationError("detail must be a JSON object")
    return check.text(detail, "detail", 6000) or ""


@dataclass(frozen=True, slots=True)
class UnifiedOrder:
    """``POST /pay/unifiedorder``: create a prepay order → :class:`V2PrepayResult`.

    Not idempotent at the transport level: on an unknown outcome, query ``out_trade_no`` (or re-send
    the identical request, which WeChat accepts) rather than minting a new ``out_trade_no``.

    ``detail`` is an :class:`~weipay.sdk.order_options.OrderDetail` or its JSON string; ``scene_info`` a JSON
    string, or give ``store_info`` / ``h5_info`` (MWEB needs ``h5_info``). ``receipt=True`` sends ``Y``
    (the e-invoice entry), ``limit_pay="no_credit"`` refuses credit cards. Lengths are UTF-8 bytes.
    """

    trade_type: str
    appid: str
    body: str
    out_trade_no: str
    total_fee_fen: int
    spbill_create_ip: str
    notify_url: str
    openid: str | None = None
    product_id: str | None = None
    scene_info: str | None = None
    attach: str | None = None
    time_expire: dt.datetime | None = None
    detail: str | OrderDetail | None = None
    sign_type: SignType = SignType.MD5
    goods_tag: str | None = None
    limit_pay: str | None = None
    receipt: bool | None = None
    fee_type: str | None = None
    device_info: str | None = None
    store_info: StoreInfo | None = None
    h5_info: H5Info | None = None

    def __post_init__(self) -> None:
        check.sign_type(self.sign_type)
        self._fields()

    def _fields(self) -> dict[str, str | None]:
        trade_type = check.one_of(self.trade_type, "trade_type", TRADE_TYPES)
        check_bytes("body", self.body, 128)
        check_bytes("attach", self.attach, 127, required=False)
        fields: dict[str, str | None] = {
            "appid": check.token(self.appid, "appid"),
            "body": check.text(self.body, "body", 128),
            "out_trade_no": check.out_trade_no(self.out_trade_no),
            "total_fee": str(check.fen(self.total_fee_fen, "total_fee_fen")),
            "spbill_create_ip": check.ip_address(self.spbill_create_ip),
            "notify_url": check.notify_url(self.notify_url),
            "trade_type": trade_type,
            "attach": check.text(self.attach, "attach", 127, required=False),
        }
        if self.openid is not None or trade_type == "JSAPI":
            if self.openid is None:
                raise ConfigurationError("JSAPI orders need the payer's openid")
            fields["openid"] = check.token(self.openid, "openid", 128)
        if trade_type == "NATIVE":
            fields["product_id"] = check.text(self.product_id or self.out_trade_no, "product_id", 32)
        elif self.product_id is not None:
            fields["product_id"] = check.text(self.product_id, "product_id", 32)
        scene_info = self._scene_info(trade_type)
        if trade_type == "MWEB":
            fields["scene_info"] = _check_scene_info(scene_info)
        elif scene_info is not None:
            fields["scene_info"] = check.text(scene_info, "scene_info", 256)
        if isinstance(self.detail, OrderDetail):
            self.detail.check()
            fields["detail"] = _check_detail(_compact_json(self.detail.v2_json()))
        elif self.detail is not None:
            fields["detail"] = _check_detail(self.detail)
        fields.update(self._options())
        if self.time_expire is not None:
            fields["time_expire"] = format_compact_time(check.aware(self.time_expire, "time_expire"))
        return fields

    def _scene_info(self, trade_type: str) -> str | None:
        """``scene_info`` as given, or the JSON of ``store_info`` / ``h5_info`` (never both ways)."""
        if self.store_info is None and self.h5_info is None:
            return self.scene_info
        if self.scene_info is not None:
            raise ConfigurationError("give scene_info as a JSON string or as store_info / h5_info, not both")
        if self.h5_info is not None and trade_type != "MWEB":
            raise ConfigurationError("h5_info applies to MWEB (H5) orders only")
        scene: dict[str, object] = {}
        for name, value in (("store_info", self.store_info), ("h5_info", self.h5_info)):
            if value is not None:
                value.check()
                scene[name] = value.v2_json()
        return _compact_json(scene)

    def _options(self) -> dict[str, str | None]:
        if self.receipt not in (None, True, False):
            raise ConfigurationError("receipt must be True, False or None")
        if self.limit_pay is not None:
            check.one_of(self.limit_pay, "limit_pay", ("no_credit",))
        return {
            "goods_tag": check_bytes("goods_tag", self.goods_tag, 32, required=False),
            "limit_pay": self.limit_pay,
            "receipt": "Y" if self.receipt else None,
            "fee_type": None if self.fee_type is None else check.one_of(self.fee_type, "fee_type", ("CNY",)),
            "device_info": check_bytes("device_info", self.device_info, 32, required=False),
        }

    def build(self, ctx: Context) -> HttpRequest:
        """The signed request. ``time_expire`` must lie at least a minute ahead of ``ctx.clock``."""
        if self.time_expire is not None and self.time_expire.timestamp() < ctx.clock() + _MIN_EXPIRY_S:
            raise ConfigurationError("time_expire must be at least 1 minute in the future")
        sign_type = check.sign_type(self.sign_type)
        return signed_request(ctx, "/pay/unifiedorder", self._fields(), sign_type=sign_type)

    def parse(self, response: HttpResponse, ctx: Context) -> V2PrepayResult:
        """The prepay id (and QR / H5 URL) from a verified answer."""
        fields = check_response(response, ctx, appid=self.appid, sign_type=check.sign_type(self.sign_type))
        return V2PrepayResult(
            trade_type=fields.get("trade_type") or self.trade_type,
            prepay_id=required(fields, "prepay_id"),
            code_url=optional(fields, "code_url"),
            mweb_url=optional(fields, "mweb_url"),
        )


@dataclass(frozen=True, slots=True)
class OrderQuery:
    """``POST /pay/orderquery`` by ``out_trade_no`` or ``transaction_id`` → :class:`V2Order` (idempotent)."""

    appid: str
    out_trade_no: str | None = None
    transaction_id: str | None = None
    sign_type: SignType = SignType.MD5

    def __post_init__(self) -> None:
        check.sign_type(self.sign_type)
        self._fields()

    def _fields(self) -> dict[str, str | None]:
        name, value = check.exactly_one({"out_trade_no": self.out_trade_no, "transaction_id": self.transaction_id})
        value = check.out_trade_no(value) if name == "out_trade_no" else check.token(value, name)
        return {"appid": check.token(self.appid, "appid"), name: value}

    def build(self, ctx: Context) -> HttpRequest:
        """The signed request."""
        sign_type = check.sign_type(self.sign_type)
        return signed_request(ctx, "/pay/orderquery", self._fields(), sign_type=sign_type, idempotent=True)

    def parse(self, response: HttpResponse, ctx: Context) -> V2Order:
        """The order; ``ORDERNOTEXIST`` arrives as ``WeChatRefused``."""
        fields = check_response(response, ctx, appid=self.appid, sign_type=check.sign_type(self.sign_type))
        return order_from_fields(fields)


def order_from_fields(fields: dict[str, str]) -> V2Order:
    """A :class:`V2Order` from verified orderquery fields."""
    return V2Order(
        out_trade_no=required(fields, "out_trade_no"),
        transaction_id=optional(fields, "transaction_id"),
        trade_state=required(fields, "trade_state"),
        trade_state_desc=optional(fields, "trade_state_desc"),
        total_fee_fen=optional_fen(fields, "total_fee"),
        cash_fee_fen=optional_fen(fields, "cash_fee"),
        fee_type=optional(fields, "fee_type"),
        openid=optional(fields, "openid"),
        trade_type=optional(fields, "trade_type"),
        bank_type=optional(fields, "bank_type"),
        attach=optional(fields, "attach"),
        time_end=optional_compact_time(fields, "time_end"),
        raw=dict(fields),
        **coupons(fields),
    )


@dataclass(frozen=True, slots=True)
class CloseOrder:
    """``POST /pay/closeorder`` → ``None``. WeChat refuses within 5 minutes of creation and for paid orders."""

    appid: str
    out_trade_no: str
    sign_type: SignType = SignType.MD5

    def __post_init__(self) -> None:
        check.sign_type(self.sign_type)
        self._fields()

    def _fields(self) -> dict[str, str | None]:
        return {"appid": check.token(self.appid, "appid"), "out_trade_no": check.out_trade_no(self.out_trade_no)}

    def build(self, ctx: Context) -> HttpRequest:
        """The signed request."""
        return signed_request(ctx, "/pay/closeorder", self._fields(), sign_type=check.sign_type(self.sign_type))

    def parse(self, response: HttpResponse, ctx: Context) -> None:
        """Nothing on success; ``ORDERPAID`` and friends arrive as ``WeChatRefused``."""
        check_response(response, ctx, appid=self.appid, sign_type=check.sign_type(self.sign_type))
