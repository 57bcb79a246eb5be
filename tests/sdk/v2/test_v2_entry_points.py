"""T09 at every v2 XML entry point: notifications, operation answers and bill downloads."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import pytest
from hostile_xml import HOSTILE
from v2vectors import V2_APPID, V2_KEY, V2_MCHID

from weipay.sdk.errors import ProtocolError
from weipay.sdk.operation import Context, HttpResponse
from weipay.sdk.v2 import (
    CloseOrder,
    DownloadBill,
    OrderQuery,
    Refund,
    RefundQuery,
    parse_payment_notification,
    parse_refund_notification,
)

OPERATIONS = [
    OrderQuery(appid=V2_APPID, out_trade_no="1217752501201407033233368018"),
    CloseOrder(appid=V2_APPID, out_trade_no="1217752501201407033233368018"),
    Refund(appid=V2_APPID, out_refund_no="R1", total_fee_fen=100, refund_fee_fen=1, out_trade_no="1217752501201"),
    RefundQuery(appid=V2_APPID, out_refund_no="R1"),
    DownloadBill(appid=V2_APPID, bill_date=dt.date(2014, 10, 27)),
]


def _entry_points(ctx: Context) -> dict[str, Callable[[bytes], object]]:
    points: dict[str, Callable[[bytes], object]] = {
        "payment_notification": lambda body: parse_payment_notification(V2_KEY, body),
        "refund_notification": lambda body: parse_refund_notification(V2_KEY, body, mchid=V2_MCHID),
    }
    for operation in OPERATIONS:
        points[type(operation).__name__] = lambda body, op=operation: op.parse(HttpResponse(200, {}, body), ctx)
    return points


@pytest.mark.parametrize("payload", sorted(HOSTILE))
def test_every_entry_point_refuses_hostile_xml(ctx: Context, payload: str) -> None:
    for name, entry_point in _entry_points(ctx).items():
        started = time.perf_counter()
        with pytest.raises(ProtocolError):
            entry_point(HOSTILE[payload])
        assert time.perf_counter() - started < 0.25, f"{name} was slow on {payload}"
