"""Order operations of API v2: unified order (prepay), order query, close order."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from ..errors import ConfigurationError
from ..operation import Context, HttpRequest, HttpResponse
from . import _checks as check
from ._fields import (
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
    detail: str | None = None
    sign_type: SignType = SignType.MD5

    def __post_init__(self) -> None:
        check.sign_type(self.sign_type)
        self._fields()

    def _fields(self) -> dict[str, str | None]:
        trade_type = check.one_of(self.trade_type, "trade_type", TRADE_TYPES)
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
        if trade_type == "MWEB":
            fields["scene_info"] = _check_scene_info(self.scene_info)
        elif self.scene_info is not None:
            fields["scene_info"] = check.text(self.scene_info, "scene_info", 256)
        if self.detail is not None:
            fields["detail"] = _check_detail(self.detail)
        if self.time_expire is not None:
            fields["time_expire"] = format_compact_time(check.aware(self.time_expire, "time_expire"))
        return fields

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
