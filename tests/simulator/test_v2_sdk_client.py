"""Our own SDK's v2 operations and notification parsers against the simulator (in process).

Both sides share signing and XML code, so a shared bug could hide here; wechatpy's interop test is the
independent check. What this adds: the SDK's stricter answer checks (signed with the request's sign type,
appid and mch_id echoed) hold for every simulator answer, in both sign types.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from weipay.sdk import Client, MerchantCredentials, WeChatRefused
from weipay.sdk.v2.bill import DownloadBill
from weipay.sdk.v2.models import BEIJING
from weipay.sdk.v2.notify import parse_payment_notification, parse_refund_notification
from weipay.sdk.v2.orders import CloseOrder, OrderQuery, UnifiedOrder
from weipay.sdk.v2.refunds import Refund, RefundQuery
from weipay.sdk.v2.signing import SignType
from weipay.simulator.clock import ManualClock
from weipay.simulator.core import Simulator
from weipay.simulator.transport import SimulatorTransport

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


@pytest.fixture
def client(sim: Simulator, bundle_dir: Path, clock: ManualClock) -> Iterator[Client]:
    credentials = MerchantCredentials.from_bundle(bundle_dir / "merchant")
    with Client(credentials, transport=SimulatorTransport(sim), secure_transport=SimulatorTransport(sim, mtls=True),
                base_url=sim.base_url, secure_base_url=sim.https_base_url, clock=clock) as sdk_client:
        yield sdk_client


def appid(sim: Simulator) -> str:
    return str(sim.account["appids"]["miniprogram"])


@pytest.mark.parametrize("sign_type", [SignType.MD5, SignType.HMAC_SHA256])
def test_sdk_lifecycle(sim: Simulator, client: Client, clock: ManualClock, notify_log: list[httpx.Request],
                       notify_handler: dict[str, object], sign_type: SignType) -> None:
    notify_handler["handler"] = lambda request: httpx.Response(
        200, content=b"<xml><return_code>SUCCESS</return_code></xml>")
    key = sim.account["apiv2_key"]
    prepay = client.call(UnifiedOrder(
        trade_type="JSAPI", appid=appid(sim), body="SDK 测试", out_trade_no="SDK0000001", total_fee_fen=199,
        spbill_create_ip="127.0.0.1", notify_url="https://merchant.example.com/notify", openid=OPENID,
        attach="<&>", sign_type=sign_type,
    ))
    assert prepay.prepay_id.startswith("wx")
    assert client.call(OrderQuery(appid=appid(sim), out_trade_no="SDK0000001", sign_type=sign_type)).trade_state \
        == "NOTPAY"

    order = sim.ledger.order_by_prepay_id(prepay.prepay_id)
    assert order is not None
    sim.pay(order)
    sim.tick()
    payment = parse_payment_notification(key, notify_log[-1].content, mchid=sim.mchid, appid=appid(sim))
    assert (payment.out_trade_no, payment.total_fee_fen, payment.attach) == ("SDK0000001", 199, "<&>")
    queried = client.call(OrderQuery(appid=appid(sim), out_trade_no="SDK0000001", sign_type=sign_type))
    assert (queried.trade_state, queried.transaction_id) == ("SUCCESS", payment.transaction_id)
    assert queried.time_end == payment.time_end

    accepted = client.call(Refund(appid=appid(sim), out_refund_no="SDKR000001", total_fee_fen=199, refund_fee_fen=99,
                                  out_trade_no="SDK0000001", sign_type=sign_type))
    assert (accepted.refund_fee_fen, accepted.transaction_id) == (99, payment.transaction_id)
    clock.advance(5)
    sim.tick()
    refunded = parse_refund_notification(key, notify_log[-1].content, mchid=sim.mchid, appid=appid(sim))
    assert (refunded.refund_id, refunded.refund_status, refunded.refund_fee_fen) == (accepted.refund_id, "SUCCESS", 99)
    listed = client.call(RefundQuery(appid=appid(sim), out_trade_no="SDK0000001", sign_type=sign_type))
    assert [(r.refund_id, r.refund_status, r.recv_account) for r in listed.refunds] == [
        (accepted.refund_id, "SUCCESS", "支付用户的零钱")]

    bill = client.call(DownloadBill(appid=appid(sim), bill_date=dt.datetime.fromtimestamp(clock(), BEIJING).date(),
                                    gzip=True, sign_type=sign_type))
    assert {row.trade_state for row in bill.rows} == {"SUCCESS", "REFUND"}


def test_sdk_sees_business_errors(sim: Simulator, client: Client) -> None:
    with pytest.raises(WeChatRefused) as missing:
        client.call(OrderQuery(appid=appid(sim), out_trade_no="NOSUCH0001"))
    assert missing.value.code == "ORDERNOTEXIST"
    client.call(UnifiedOrder(trade_type="APP", appid=appid(sim), body="x", out_trade_no="SDK0000002", total_fee_fen=1,
                             spbill_create_ip="127.0.0.1", notify_url="https://merchant.example.com/notify"))
    client.call(CloseOrder(appid=appid(sim), out_trade_no="SDK0000002", sign_type=SignType.HMAC_SHA256))
    with pytest.raises(WeChatRefused) as closed:
        client.call(CloseOrder(appid=appid(sim), out_trade_no="SDK0000002"))
    assert closed.value.code == "ORDERCLOSED"
    with pytest.raises(WeChatRefused) as no_bill:
        client.call(DownloadBill(appid=appid(sim), bill_date=dt.date(2020, 1, 1)))
    assert "No Bill Exist" in no_bill.value.message
