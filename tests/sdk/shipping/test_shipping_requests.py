"""Shipping information requests as WeChat documents them, answers as WeChat sends them. No I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from weipay.sdk.errors import AccessTokenRejected, ConfigurationError, ProtocolError, WeChatRefused
from weipay.sdk.operation import Api, Context, HttpResponse
from weipay.sdk.shipping import (
    Contact,
    DeliveryMode,
    GetShippingOrder,
    GetShippingOrderList,
    IsTradeManaged,
    LogisticsType,
    NotifyConfirmReceive,
    OrderKey,
    OrderState,
    ShippedItem,
    ShippingItem,
    UploadShippingInfo,
    mask_phone,
)

APPID = "wxd678efh567hg6787"
TOKEN = "83_Xq2c-token-under-test"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
TRANSACTION_ID = "4200001858202306300646157659"
# 2022-12-15T13:29:35.120+08:00, WeChat's example upload time.
NOW_S = datetime(2022, 12, 15, 13, 29, 35, 120000, tzinfo=timezone(timedelta(hours=8))).timestamp()


@pytest.fixture
def ctx(credentials) -> Context:
    return Context(credentials, lambda: NOW_S, lambda: "nonce")


def sent(operation, ctx):
    request = operation.build_with_token(ctx, TOKEN)
    url = urlsplit(request.path)
    assert request.api is Api.LOGIN and request.method == "POST"
    assert parse_qs(url.query) == {"access_token": [TOKEN]}
    assert request.headers["Content-Type"].startswith("application/json")
    return url.path, json.loads(request.body), request


def upload(**changes):
    fields = {
        "appid": APPID,
        "order_key": OrderKey(transaction_id=TRANSACTION_ID),
        "logistics_type": LogisticsType.VIRTUAL,
        "shipping_list": (ShippingItem(item_desc="话费充值 30 元"),),
        "payer_openid": OPENID,
    }
    fields.update(changes)
    return UploadShippingInfo(**fields)


# -- upload_shipping_info: one body per logistics type --------------------------------------------


def test_express_by_transaction_id_with_sf_contact(ctx):
    operation = upload(
        logistics_type=LogisticsType.EXPRESS,
        shipping_list=(
            ShippingItem(
                item_desc="微信红包抱枕*1个",
                tracking_no="SF1234567890",
                express_company="SF",
                contact=Contact(receiver_contact="189****1234"),
            ),
        ),
    )
    path, body, request = sent(operation, ctx)
    assert path == "/wxa/sec/order/upload_shipping_info"
    assert body == {
        "order_key": {"order_number_type": 2, "transaction_id": TRANSACTION_ID},
        "logistics_type": 1,
        "delivery_mode": 1,
        "shipping_list": [
            {
                "tracking_no": "SF1234567890",
                "express_company": "SF",
                "item_desc": "微信红包抱枕*1个",
                "contact": {"receiver_contact": "189****1234"},
            }
        ],
        "upload_time": "2022-12-15T13:29:35.120+08:00",
        "payer": {"openid": OPENID},
    }
    assert not request.idempotent  # a repeated upload may spend the one allowed change
    assert "微信红包抱枕".encode() in request.body  # UTF-8 as is, not \\u escapes


def test_same_city_by_out_trade_no_defaults_to_the_clients_merchant(ctx, credentials):
    operation = upload(
        order_key=OrderKey(out_trade_no="SHOP-20240501-0001"),
        logistics_type=LogisticsType.SAME_CITY,
        shipping_list=(ShippingItem(item_desc="鲜花一束", express_company="闪送"),),
    )
    _, body, _ = sent(operation, ctx)
    assert body["order_key"] == {
        "order_number_type": 1,
        "mchid": credentials.mchid,
        "out_trade_no": "SHOP-20240501-0001",
    }
    assert body["logistics_type"] == 2
    assert body["shipping_list"] == [{"express_company": "闪送", "item_desc": "鲜花一束"}]


def test_virtual_goods_need_only_a_description(ctx):
    _, body, _ = sent(upload(), ctx)
    assert body["logistics_type"] == 3 and body["delivery_mode"] == 1
    assert body["shipping_list"] == [{"item_desc": "话费充值 30 元"}]
    assert "is_all_delivered" not in body


def test_pickup_with_an_explicit_upload_time_and_another_merchant(ctx):
    operation = upload(
        order_key=OrderKey(out_trade_no="PICKUP-0001", mchid="1900000109"),
        logistics_type=LogisticsType.PICKUP,
        shipping_list=(ShippingItem(item_desc="草莓*1", contact=Contact(consignor_contact="021-****1234")),),
        upload_time=datetime(2024, 5, 1, 2, 0, 0, tzinfo=UTC),
    )
    _, body, _ = sent(operation, ctx)
    assert body["order_key"] == {"order_number_type": 1, "mchid": "1900000109", "out_trade_no": "PICKUP-0001"}
    assert body["logistics_type"] == 4
    assert body["shipping_list"] == [{"item_desc": "草莓*1", "contact": {"consignor_contact": "021-****1234"}}]
    assert body["upload_time"] == "2024-05-01T10:00:00.000+08:00"


def test_split_express_delivery_lists_each_package(ctx):
    packages = tuple(
        ShippingItem(item_desc=f"包裹 {n}", tracking_no=f"YT37506961457{n}", express_company="YTO") for n in (1, 2)
    )
    operation = upload(
        logistics_type=LogisticsType.EXPRESS,
        delivery_mode=DeliveryMode.SPLIT,
        is_all_delivered=False,
        shipping_list=packages,
    )
    _, body, _ = sent(operation, ctx)
    assert body["delivery_mode"] == 2 and body["is_all_delivered"] is False
    assert list(body) == [
        "order_key",
        "logistics_type",
        "delivery_mode",
        "is_all_delivered",
        "shipping_list",
        "upload_time",
        "payer",
    ]
    assert [package["tracking_no"] for package in body["shipping_list"]] == ["YT375069614571", "YT375069614572"]


EXPRESS = {"logistics_type": LogisticsType.EXPRESS}
PACKAGE = ShippingItem(item_desc="抱枕", tracking_no="YT1", express_company="YTO")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {**EXPRESS, "shipping_list": (ShippingItem(item_desc="抱枕", express_company="YTO"),)},
            r"shipping_list\[0\]\.tracking_no is required for express",
        ),
        (
            {**EXPRESS, "shipping_list": (ShippingItem(item_desc="抱枕", tracking_no="YT1"),)},
            r"shipping_list\[0\]\.express_company is required for express",
        ),
        ({"shipping_list": (ShippingItem(item_desc=""),)}, r"shipping_list\[0\]\.item_desc must not be empty"),
        ({"shipping_list": (ShippingItem(item_desc="x" * 121),)}, r"shipping_list\[0\]\.item_desc must be at most 120"),
        (
            {**EXPRESS, "shipping_list": (ShippingItem(item_desc="抱枕", tracking_no="SF1", express_company="SF"),)},
            r"shipping_list\[0\]\.contact is required when express_company is SF",
        ),
        (
            {"shipping_list": (ShippingItem(item_desc="a", contact=Contact(receiver_contact="18912341234")),)},
            r"shipping_list\[0\]\.contact\.receiver_contact must be masked",
        ),
        (
            {"shipping_list": (ShippingItem(item_desc="a", contact=Contact(receiver_contact="1891234****")),)},
            r"receiver_contact must keep its last four digits unmasked",
        ),
        (
            {"shipping_list": (ShippingItem(item_desc="a", contact=Contact(consignor_contact="189 ****1234")),)},
            r"shipping_list\[0\]\.contact\.consignor_contact must be a masked phone number",
        ),
        (
            {"shipping_list": (ShippingItem(item_desc="a", contact=Contact()),)},
            r"shipping_list\[0\]\.contact needs consignor_contact or receiver_contact",
        ),
        ({"shipping_list": ()}, r"shipping_list needs at least one entry"),
        (
            {"shipping_list": (ShippingItem(item_desc="a"), ShippingItem(item_desc="b"))},
            r"exactly one entry in unified delivery",
        ),
        ({"is_all_delivered": True}, r"is_all_delivered applies to split delivery"),
        (
            {**EXPRESS, "delivery_mode": DeliveryMode.SPLIT, "shipping_list": (PACKAGE,)},
            r"is_all_delivered is required in split delivery",
        ),
        ({"delivery_mode": DeliveryMode.SPLIT, "is_all_delivered": True}, r"split delivery .* is for express"),
        (
            {
                **EXPRESS,
                "delivery_mode": DeliveryMode.SPLIT,
                "is_all_delivered": True,
                "shipping_list": (PACKAGE,) * 16,
            },
            r"at most 15 packages",
        ),
        ({"order_key": OrderKey()}, r"order_key needs exactly one of transaction_id or out_trade_no"),
        ({"order_key": OrderKey(transaction_id=TRANSACTION_ID, out_trade_no="ABCDEF")}, r"order_key needs exactly one"),
        ({"order_key": OrderKey(transaction_id=TRANSACTION_ID, mchid="1900000109")}, r"order_key\.mchid goes with"),
        ({"order_key": OrderKey(out_trade_no="no spaces allowed")}, r"out_trade_no must be"),
        ({"payer_openid": ""}, r"payer\.openid must not be empty"),
        ({"upload_time": datetime(2024, 5, 1)}, r"upload_time must be timezone-aware"),
        ({"logistics_type": 5}, r"logistics_type must be one of 1 \(EXPRESS\)"),
        ({"logistics_type": True}, r"logistics_type must be one of"),
        ({"delivery_mode": 0}, r"delivery_mode must be one of 1 \(UNIFIED\), 2 \(SPLIT\)"),
    ],
)
def test_bad_uploads_name_the_field_and_send_nothing(ctx, changes, message):
    with pytest.raises(ConfigurationError, match=message):
        upload(**changes).build_with_token(ctx, TOKEN)


def test_mask_phone_keeps_the_last_four_digits():
    assert mask_phone("13800001234") == "138****1234"
    assert mask_phone("+86-13800001234") == "+86-1******1234"  # the first three digits stay, country code included
    assert mask_phone("021-66661234") == "021-****1234"
    assert mask_phone("8008") == "****8008"
    with pytest.raises(ConfigurationError):
        mask_phone("110")
    for number in ("13800001234", "+86-13800001234", "021-66661234", "95338", "8008"):
        Contact(receiver_contact=mask_phone(number)).check("contact")  # what it makes passes the check


# -- the other operations -------------------------------------------------------------------------

ORDER = {
    "transaction_id": TRANSACTION_ID,
    "merchant_id": "1230000109",
    "sub_merchant_id": "",
    "merchant_trade_no": "SHOP-20240501-0001",
    "description": "微信红包抱枕*1个",
    "paid_amount": 3990,
    "openid": OPENID,
    "trade_create_time": 1691565015,
    "pay_time": 1691565022,
    "in_complaint": False,
    "order_state": 2,
    "shipping": {
        "delivery_mode": 1,
        "logistics_type": 1,
        "finish_shipping": True,
        "finish_shipping_count": 1,
        "goods_desc": "微信红包抱枕*1个",
        "shipping_list": [
            {
                "tracking_no": "323244567777",
                "express_company": "DHL",
                "goods_desc": "微信红包抱枕*1个",
                "upload_time": 1691565100,
                "contact": {"consignor_contact": "", "receiver_contact": "189****1234"},
            }
        ],
    },
}


def answer(data, status=200):
    return HttpResponse(status, {}, json.dumps(data).encode())


def test_get_order_asks_by_either_key_and_reads_the_state(ctx, credentials):
    path, body, request = sent(GetShippingOrder(APPID, OrderKey(transaction_id=TRANSACTION_ID)), ctx)
    assert path == "/wxa/sec/order/get_order" and body == {"transaction_id": TRANSACTION_ID} and request.idempotent
    _, body, _ = sent(GetShippingOrder(APPID, OrderKey(out_trade_no="SHOP-20240501-0001")), ctx)
    assert body == {"merchant_id": credentials.mchid, "merchant_trade_no": "SHOP-20240501-0001"}

    order = GetShippingOrder(APPID, OrderKey(transaction_id=TRANSACTION_ID)).parse(
        answer({"errcode": 0, "errmsg": "ok", "order": ORDER}), ctx
    )
    assert order.order_state is OrderState.SHIPPED and order.paid_amount_fen == 3990
    assert order.sub_merchant_id is None and not order.in_complaint
    assert order.pay_time == datetime.fromtimestamp(1691565022, UTC)
    assert order.shipping is not None and order.shipping.logistics_type is LogisticsType.EXPRESS
    assert order.shipping.shipping_list == (
        ShippedItem(
            "323244567777",
            "DHL",
            "微信红包抱枕*1个",
            datetime.fromtimestamp(1691565100, UTC),
            Contact(None, "189****1234"),
        ),
    )
    assert order.raw["shipping"]["goods_desc"] == "微信红包抱枕*1个"


def test_states_beyond_the_documented_ones_are_kept(ctx):
    operation = GetShippingOrder(APPID, OrderKey(transaction_id=TRANSACTION_ID))
    unpaid = {**ORDER, "order_state": 6, "trade_create_time": 0, "shipping": None}
    order = operation.parse(answer({"errcode": 0, "order": unpaid}), ctx)
    assert order.order_state is OrderState.AWAITING_SETTLEMENT and order.trade_create_time is None
    assert order.shipping is None
    assert operation.parse(answer({"order": {**ORDER, "order_state": 9}}), ctx).order_state == 9
    for broken in (
        {"errcode": 0},
        {"order": {**ORDER, "transaction_id": None}},
        {"order": {**ORDER, "paid_amount": "1"}},
    ):
        with pytest.raises(ProtocolError):
            operation.parse(answer(broken), ctx)


def test_order_list_pages(ctx):
    operation = GetShippingOrderList(
        APPID,
        pay_time_begin=datetime(2024, 5, 1, tzinfo=UTC),
        pay_time_end=datetime(2024, 5, 2, tzinfo=UTC),
        order_state=OrderState.AWAITING_SHIPMENT,
        last_index="08a1",
        page_size=20,
    )
    path, body, request = sent(operation, ctx)
    assert path == "/wxa/sec/order/get_order_list" and request.idempotent
    assert body == {
        "pay_time_range": {"begin_time": 1714521600, "end_time": 1714608000},
        "order_state": 1,
        "last_index": "08a1",
        "page_size": 20,
    }
    page = operation.parse(
        answer({"errcode": 0, "order_list": [ORDER, ORDER], "last_index": "09b2", "has_more": True}), ctx
    )
    assert len(page.orders) == 2 and page.last_index == "09b2" and page.has_more
    with pytest.raises(ConfigurationError, match="page_size"):
        GetShippingOrderList(APPID, page_size=0).build_with_token(ctx, TOKEN)
    with pytest.raises(ConfigurationError, match="pay_time_begin must be a timezone-aware"):
        GetShippingOrderList(APPID, pay_time_begin=datetime(2024, 5, 1)).build_with_token(ctx, TOKEN)


def test_is_trade_managed(ctx):
    path, body, request = sent(IsTradeManaged(APPID), ctx)
    assert path == "/wxa/sec/order/is_trade_managed" and body == {"appid": APPID} and request.idempotent
    assert IsTradeManaged(APPID).parse(answer({"errcode": 0, "errmsg": "ok", "is_trade_managed": True}), ctx) is True
    with pytest.raises(ProtocolError):
        IsTradeManaged(APPID).parse(answer({"errcode": 0}), ctx)


def test_notify_confirm_receive(ctx):
    received = datetime(2024, 5, 3, 9, 30, tzinfo=UTC)
    operation = NotifyConfirmReceive(APPID, OrderKey(out_trade_no="SHOP-20240501-0001", mchid="1230000109"), received)
    path, body, request = sent(operation, ctx)
    assert path == "/wxa/sec/order/notify_confirm_receive" and not request.idempotent
    assert body == {"merchant_id": "1230000109", "merchant_trade_no": "SHOP-20240501-0001", "received_time": 1714728600}


# -- errcodes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("errcode", "code", "kind", "retryable"),
    [
        (40001, "INVALID_CREDENTIAL", AccessTokenRejected, False),
        (40014, "INVALID_ACCESS_TOKEN", AccessTokenRejected, False),
        (42001, "ACCESS_TOKEN_EXPIRED", AccessTokenRejected, False),
        (-1, "SYSTEM_BUSY", WeChatRefused, True),
        (44990, "FREQUENCY_LIMITED", WeChatRefused, True),
        (48001, "API_UNAUTHORIZED", WeChatRefused, False),
        (10060001, "PAYMENT_NOT_FOUND", WeChatRefused, False),
        (10060003, "RESHIPPING_USED", WeChatRefused, False),
        (10060023, "SHIPPING_INFO_UNCHANGED", WeChatRefused, False),
        (10069999, "ERRCODE_10069999", WeChatRefused, False),
    ],
)
def test_errcodes_are_named(ctx, errcode, code, kind, retryable):
    with pytest.raises(WeChatRefused) as caught:
        upload().parse(answer({"errcode": errcode, "errmsg": "支付单不存在 rid: 64a2b3ba-3f9f1f69"}), ctx)
    assert type(caught.value) is kind and caught.value.code == code and caught.value.retryable is retryable
    assert caught.value.detail == {"errcode": errcode} and caught.value.status == 200


def test_answers_that_are_not_answers(ctx):
    with pytest.raises(WeChatRefused) as caught:
        upload().parse(HttpResponse(502, {}, b"bad gateway"), ctx)
    assert caught.value.code == "HTTP_502" and caught.value.retryable
    for body in (b"<html>", b"[1]", b'{"errcode": "40001"}'):
        with pytest.raises(ProtocolError):
            upload().parse(HttpResponse(200, {}, body), ctx)
    assert upload().parse(answer({"errcode": 0, "errmsg": "ok"}), ctx) is None
