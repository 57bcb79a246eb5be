"""小程序发货信息管理: the shipping-information API of the mini-program platform (``/wxa/sec/order/*``).

Under WeChat's trade-management rules a mini-program's payments stay frozen until the merchant uploads
shipping information and the buyer confirms receipt (or the platform does, automatically). Every
operation here is a :class:`~weipay.sdk.token_calls.TokenOperation`: run it with
:func:`weipay.sdk.call_with_access_token` (tokens cached and refreshed for you) or bind a token you hold
with :func:`weipay.sdk.with_access_token`. ``build_with_token`` validates first, so bad input raises
:class:`~weipay.sdk.errors.ConfigurationError` naming the field, and nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any, TypeVar

from .._wxa import post_json, successful_answer
from ..errors import ConfigurationError, ProtocolError
from ..operation import Context, HttpRequest, HttpResponse
from ..v3._time import BEIJING
from ..v3._validate import check_text
from .answers import ShippingOrder, ShippingOrderPage
from .models import DeliveryMode, LogisticsType, OrderKey, OrderState, ShippingItem

__all__ = ["GetShippingOrder", "GetShippingOrderList", "IsTradeManaged", "NotifyConfirmReceive", "UploadShippingInfo"]

E = TypeVar("E", bound=IntEnum)

#: WeChat's limit on packages of one payment in split delivery.
MAX_SPLIT_PACKAGES = 15
MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class UploadShippingInfo:
    """Record how a paid order was delivered: ``POST /wxa/sec/order/upload_shipping_info`` → ``None``.

    ``delivery_mode`` UNIFIED sends exactly one ``shipping_list`` entry; SPLIT (express only) sends 1–15
    packages and needs ``is_all_delivered``. ``upload_time`` (aware) orders uploads: a change must carry a
    later time than the upload it replaces; it defaults to the client's clock. Not idempotent: WeChat
    allows one change after shipping, and a repeated upload may spend it, so transport failures are
    not retried (query with :class:`GetShippingOrder` instead).
    """

    appid: str
    order_key: OrderKey
    logistics_type: LogisticsType
    shipping_list: tuple[ShippingItem, ...]
    payer_openid: str
    delivery_mode: DeliveryMode = DeliveryMode.UNIFIED
    is_all_delivered: bool | None = None
    upload_time: datetime | None = None

    def check(self) -> None:
        """Every rule WeChat documents for the request, as :class:`ConfigurationError`."""
        self.order_key.check()
        logistics_type = _member(LogisticsType, self.logistics_type, "logistics_type")
        delivery_mode = _member(DeliveryMode, self.delivery_mode, "delivery_mode")
        check_text("payer.openid", self.payer_openid, max_chars=128)
        if not self.shipping_list:
            raise ConfigurationError("shipping_list needs at least one entry")
        if delivery_mode is DeliveryMode.UNIFIED:
            if len(self.shipping_list) != 1:
                raise ConfigurationError("shipping_list takes exactly one entry in unified delivery (delivery_mode 1)")
            if self.is_all_delivered is not None:
                raise ConfigurationError("is_all_delivered applies to split delivery (delivery_mode 2) only")
        else:
            if logistics_type is not LogisticsType.EXPRESS:
                raise ConfigurationError("split delivery (delivery_mode 2) is for express delivery (logistics_type 1)")
            if len(self.shipping_list) > MAX_SPLIT_PACKAGES:
                raise ConfigurationError(f"shipping_list takes at most {MAX_SPLIT_PACKAGES} packages")
            if not isinstance(self.is_all_delivered, bool):
                raise ConfigurationError("is_all_delivered is required in split delivery (delivery_mode 2)")
        for place, item in enumerate(self.shipping_list):
            item.check(f"shipping_list[{place}]", logistics_type)
        if self.upload_time is not None and self.upload_time.utcoffset() is None:
            raise ConfigurationError("upload_time must be timezone-aware, e.g. datetime(..., tzinfo=UTC)")

    def body(self, ctx: Context) -> dict[str, Any]:
        """The request object, in WeChat's field order."""
        upload_time = self.upload_time or datetime.fromtimestamp(ctx.clock(), BEIJING)
        body: dict[str, Any] = {
            "order_key": self.order_key.upload_json(ctx.credentials.mchid),
            "logistics_type": int(self.logistics_type),
            "delivery_mode": int(self.delivery_mode),
        }
        if self.is_all_delivered is not None:
            body["is_all_delivered"] = self.is_all_delivered
        body["shipping_list"] = [item.to_json() for item in self.shipping_list]
        body["upload_time"] = upload_time.astimezone(BEIJING).isoformat(timespec="milliseconds")
        body["payer"] = {"openid": self.payer_openid}
        return body

    def build_with_token(self, ctx: Context, access_token: str) -> HttpRequest:
        """Validate, then ``POST`` the upload."""
        self.check()
        path = "/wxa/sec/order/upload_shipping_info"
        return post_json(path, self.body(ctx), access_token=access_token, idempotent=False)

    def parse(self, response: HttpResponse, ctx: Context) -> None:
        """``None`` when WeChat recorded it; ``SHIPPING_INFO_UNCHANGED`` means it already had this."""
        successful_answer(response, "upload_shipping_info")


@dataclass(frozen=True, slots=True)
class GetShippingOrder:
    """A payment's shipping state: ``POST /wxa/sec/order/get_order`` → :class:`ShippingOrder`."""

    appid: str
    order_key: OrderKey

    def build_with_token(self, ctx: Context, access_token: str) -> HttpRequest:
        """Validate, then ask (idempotent)."""
        self.order_key.check()
        payload = self.order_key.query_json(ctx.credentials.mchid)
        return post_json("/wxa/sec/order/get_order", payload, access_token=access_token, idempotent=True)

    def parse(self, response: HttpResponse, ctx: Context) -> ShippingOrder:
        """The ``order`` object."""
        order = successful_answer(response, "get_order").get("order")
        if not isinstance(order, dict):
            raise ProtocolError("get_order answer lacks order")
        return ShippingOrder.from_json(order)


@dataclass(frozen=True, slots=True)
class GetShippingOrderList:
    """Payments by pay time, payer or state: ``POST /wxa/sec/order/get_order_list`` → a page.

    ``pay_time_begin``/``pay_time_end`` (aware) bound the pay time; ``last_index`` is the previous
    page's, to read the next one.
    """

    appid: str
    pay_time_begin: datetime | None = None
    pay_time_end: datetime | None = None
    order_state: OrderState | None = None
    openid: str | None = None
    last_index: str | None = None
    page_size: int = 50

    def build_with_token(self, ctx: Context, access_token: str) -> HttpRequest:
        """Validate, then ask (idempotent)."""
        if isinstance(self.page_size, bool) or not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ConfigurationError(f"page_size must be 1-{MAX_PAGE_SIZE}")
        payload: dict[str, Any] = {}
        time_range: dict[str, int] = {}
        if self.pay_time_begin is not None:
            time_range["begin_time"] = _unix_s(self.pay_time_begin, "pay_time_begin")
        if self.pay_time_end is not None:
            time_range["end_time"] = _unix_s(self.pay_time_end, "pay_time_end")
        if time_range:
            payload["pay_time_range"] = time_range
        if self.order_state is not None:
            payload["order_state"] = int(_member(OrderState, self.order_state, "order_state"))
        if self.openid is not None:
            payload["openid"] = check_text("openid", self.openid, max_chars=128)
        if self.last_index is not None:
            payload["last_index"] = self.last_index
        payload["page_size"] = self.page_size
        return post_json("/wxa/sec/order/get_order_list", payload, access_token=access_token, idempotent=True)

    def parse(self, response: HttpResponse, ctx: Context) -> ShippingOrderPage:
        """The orders of this page and where the next one starts."""
        data = successful_answer(response, "get_order_list")
        orders = data.get("order_list") or []
        if not isinstance(orders, list) or not all(isinstance(order, dict) for order in orders):
            raise ProtocolError("get_order_list answer: order_list is not a list of objects")
        last_index, has_more = data.get("last_index", ""), data.get("has_more", False)
        if not isinstance(last_index, str) or not isinstance(has_more, bool):
            raise ProtocolError("get_order_list answer: bad last_index or has_more")
        return ShippingOrderPage(tuple(ShippingOrder.from_json(order) for order in orders), last_index, has_more)


@dataclass(frozen=True, slots=True)
class IsTradeManaged:
    """Whether the app is under trade management: ``POST /wxa/sec/order/is_trade_managed`` → bool.

    True means its payments are frozen until shipping information is uploaded.
    """

    appid: str

    def build_with_token(self, ctx: Context, access_token: str) -> HttpRequest:
        """Ask about the app itself (idempotent)."""
        check_text("appid", self.appid, max_chars=32)
        payload = {"appid": self.appid}
        return post_json("/wxa/sec/order/is_trade_managed", payload, access_token=access_token, idempotent=True)

    def parse(self, response: HttpResponse, ctx: Context) -> bool:
        """WeChat's ``is_trade_managed``."""
        managed = successful_answer(response, "is_trade_managed").get("is_trade_managed")
        if not isinstance(managed, bool):
            raise ProtocolError("is_trade_managed answer lacks is_trade_managed")
        return managed


@dataclass(frozen=True, slots=True)
class NotifyConfirmReceive:
    """Remind the buyer to confirm receipt once the courier reports delivery → ``None``.

    ``POST /wxa/sec/order/notify_confirm_receive``; once per payment, so never retried blindly.
    ``received_time`` (aware) is when the courier delivered.
    """

    appid: str
    order_key: OrderKey
    received_time: datetime

    def build_with_token(self, ctx: Context, access_token: str) -> HttpRequest:
        """Validate, then send the reminder."""
        self.order_key.check()
        received_time_s = _unix_s(self.received_time, "received_time")
        payload = {**self.order_key.query_json(ctx.credentials.mchid), "received_time": received_time_s}
        path = "/wxa/sec/order/notify_confirm_receive"
        return post_json(path, payload, access_token=access_token, idempotent=False)

    def parse(self, response: HttpResponse, ctx: Context) -> None:
        """``None`` when the reminder went out."""
        successful_answer(response, "notify_confirm_receive")


def _member(kind: type[E], value: object, name: str) -> E:
    try:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(name)
        return kind(value)
    except (ValueError, TypeError):
        allowed = ", ".join(f"{member.value} ({member.name})" for member in kind)
        raise ConfigurationError(f"{name} must be one of {allowed}, got {value!r}") from None


def _unix_s(value: datetime, name: str) -> int:
    """Unix seconds of an aware datetime (WeChat's time stamps in this API)."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ConfigurationError(f"{name} must be a timezone-aware datetime")
    return int(value.timestamp())
