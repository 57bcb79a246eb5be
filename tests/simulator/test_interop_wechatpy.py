"""wechatpy 1.8.18 against a real simulator on 127.0.0.1: HTTP for /pay/…, mutual TLS for /secapi/….

The full v2 lifecycle: unifiedorder -> pay (control API) -> payment notification verified by wechatpy's
``parse_payment_result`` -> orderquery -> refund over mTLS -> refund notification decrypted by wechatpy's
``parse_refund_notify_result`` -> refundquery. Notifications reach a small HTTP receiver that only trusts
what wechatpy accepts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

wechatpy_pay = pytest.importorskip("wechatpy.pay")
wechatpy_exceptions = pytest.importorskip("wechatpy.exceptions")

from weipay.sdk.v2 import signing  # noqa: E402
from weipay.sdk.v2.bill import parse_bill  # noqa: E402
from weipay.simulator.bundle import init_bundle  # noqa: E402
from weipay.simulator.clock import ManualClock, compact  # noqa: E402
from weipay.simulator.core import Simulator  # noqa: E402
from weipay.simulator.server import RunningSimulator, start_in_thread  # noqa: E402

SUCCESS_REPLY = b"<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


@dataclass
class Receiver:
    """The merchant's notify endpoint: records what wechatpy verified (or refused)."""

    client: Any
    payments: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    refused: list[bytes] = field(default_factory=list)
    url: str = ""

    def accept(self, path: str, body: bytes) -> bool:
        try:
            if path.endswith("/refund"):
                self.refunds.append(dict(self.client.parse_refund_notify_result(body)))
            else:
                self.payments.append(dict(self.client.parse_payment_result(body)))
        except Exception:  # wechatpy raises several types; any refusal must be an answer, not a crash
            self.refused.append(body)
            return False
        return True


def serve_receiver(receiver: Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            ok = receiver.accept(self.path, body)
            reply = SUCCESS_REPLY if ok else b"<xml><return_code>FAIL</return_code><return_msg>bad</return_msg></xml>"
            self.send_response(200)
            self.send_header("content-type", "text/xml")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="merchant-receiver").start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    return server


@dataclass
class World:
    sim: Simulator
    clock: ManualClock
    running: RunningSimulator
    client: Any
    receiver: Receiver
    merchant_dir: Path
    others: list[Any] = field(default_factory=list)

    def other_client(self, api_key: str, base_url: str) -> Any:
        """Another wechatpy client of the same merchant (closed at teardown)."""
        other = wechatpy_pay.WeChatPay(self.client.appid, api_key, self.client.mch_id, timeout=5)
        other.API_BASE_URL = base_url + "/"
        trust_simulator_ca(other, self.merchant_dir)
        self.others.append(other)
        return other

    def control(self, method: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        response = requests.request(method, self.running.base_url + path, json=payload, timeout=5)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data


def trust_simulator_ca(client: Any, merchant_dir: Path) -> None:
    """Make wechatpy's requests session trust (only) the simulator CA.

    requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override ``Session.verify``; ignoring the environment
    keeps the CA we chose (and keeps proxies away from loopback).
    """
    client._http.verify = str(merchant_dir / "simulator_ca.pem")
    client._http.trust_env = False


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("wechatpy-interop")
    account = init_bundle(root)
    clock = ManualClock(time.time())
    sim = Simulator(root, clock=clock)
    merchant = root / "merchant"
    client = wechatpy_pay.WeChatPay(
        account["appids"]["official_account"], account["apiv2_key"], account["mchid"],
        mch_cert=str(merchant / "apiclient_cert.pem"), mch_key=str(merchant / "apiclient_key.pem"), timeout=5,
    )
    receiver = Receiver(client)
    receiver_server = serve_receiver(receiver)
    running = start_in_thread(sim)
    assert running.https_base_url is not None
    client.API_BASE_URL = running.base_url + "/"  # instance attribute, trailing slash kept
    trust_simulator_ca(client, merchant)
    # Only the refund API needs the client certificate: send it to the mutual-TLS port.
    client.refund.API_BASE_URL = running.https_base_url + "/"
    world = World(sim, clock, running, client, receiver, merchant)
    try:
        yield world
    finally:
        for session_owner in (client, *world.others):
            session_owner._http.close()  # idle keep-alive connections would hold up the server's shutdown
        running.stop()
        receiver_server.shutdown()
        sim.close()


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def create_order(world: World, out_trade_no: str, total_fee: int = 100, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = world.client.order.create(
        trade_type="JSAPI", body="互操作测试", total_fee=total_fee, notify_url=world.receiver.url + "/pay",
        client_ip="127.0.0.1", user_id=OPENID, out_trade_no=out_trade_no, attach="a&b", **extra,
    )
    return result


def pay(world: World, prepay_id: str) -> dict[str, Any]:
    return world.control("POST", "/simulator/payments", {"prepay_id": prepay_id, "outcome": "success"})


def test_full_v2_lifecycle_with_wechatpy(world: World) -> None:
    client, receiver = world.client, world.receiver
    order = create_order(world, "WXPY00000001")
    assert order["return_code"] == order["result_code"] == "SUCCESS"
    assert signing.verify(order, world.sim.account["apiv2_key"], "MD5")
    again = create_order(world, "WXPY00000001")
    assert again["prepay_id"] == order["prepay_id"], "wechatpy re-stamps times; still the same order"

    jsapi = client.jsapi.get_jsapi_params(order["prepay_id"])
    assert jsapi["package"] == "prepay_id=" + order["prepay_id"]

    paid = pay(world, order["prepay_id"])
    assert paid["trade_state"] == "SUCCESS"
    wait_for(lambda: any(p["out_trade_no"] == "WXPY00000001" for p in receiver.payments))
    notification = next(p for p in receiver.payments if p["out_trade_no"] == "WXPY00000001")
    assert notification["transaction_id"] == paid["transaction_id"]
    assert (notification["total_fee"], notification["attach"], notification["openid"]) == (100, "a&b", OPENID)
    assert notification["result_code"] == "SUCCESS"

    queried = client.order.query(out_trade_no="WXPY00000001")
    assert (queried["trade_state"], queried["transaction_id"]) == ("SUCCESS", paid["transaction_id"])
    assert client.order.query(transaction_id=paid["transaction_id"])["out_trade_no"] == "WXPY00000001"

    refund = client.refund.apply(total_fee=100, refund_fee=40, out_refund_no="WXPYR0000001",
                                 out_trade_no="WXPY00000001", notify_url=receiver.url + "/refund")
    assert (refund["result_code"], refund["refund_fee"]) == ("SUCCESS", "40")
    world.clock.advance(5)  # the refund finishes on the next background tick
    wait_for(lambda: any(r["out_refund_no"] == "WXPYR0000001" for r in receiver.refunds))
    refunded = next(r for r in receiver.refunds if r["out_refund_no"] == "WXPYR0000001")
    assert (refunded["refund_status"], refunded["refund_fee"], refunded["total_fee"]) == ("SUCCESS", 40, 100)
    assert refunded["refund_id"] == refund["refund_id"]
    assert refunded["refund_recv_accout"] == "支付用户的零钱"

    listed = client.refund.query(out_refund_no="WXPYR0000001")
    assert (listed["refund_status_0"], listed["refund_id_0"]) == ("SUCCESS", refund["refund_id"])
    assert client.order.query(out_trade_no="WXPY00000001")["trade_state"] == "REFUND"
    assert receiver.refused == []


def test_hmac_sha256_orders(world: World) -> None:
    key = world.sim.account["apiv2_key"]
    order = create_order(world, "WXPYHMAC0001", sign_type="HMAC-SHA256")
    assert signing.verify(order, key, "HMAC-SHA256"), "the answer is signed with the request's sign_type"
    assert not signing.verify(order, key, "MD5")
    stored = world.sim.ledger.order(world.sim.mchid, "WXPYHMAC0001")
    assert stored is not None and stored.sign_type == "HMAC-SHA256"
    pay(world, order["prepay_id"])
    # wechatpy verifies notifications with MD5 only: the simulator's default.
    wait_for(lambda: any(p["out_trade_no"] == "WXPYHMAC0001" for p in world.receiver.payments))
    query = world.client.post("pay/orderquery", data={
        "appid": world.client.appid, "out_trade_no": "WXPYHMAC0001", "sign_type": "HMAC-SHA256"})
    assert query["trade_state"] == "SUCCESS"
    assert signing.verify(query, key, "HMAC-SHA256")


def test_wechatpy_sees_wechat_errors(world: World) -> None:
    create_order(world, "WXPYERR00001")
    with pytest.raises(wechatpy_exceptions.WeChatPayException) as differs:
        create_order(world, "WXPYERR00001", total_fee=101)
    assert (differs.value.errcode, differs.value.errmsg) == ("INVALID_REQUEST", "201 商户订单号重复")
    world.client.order.close("WXPYERR00001")
    with pytest.raises(wechatpy_exceptions.WeChatPayException) as closed:
        world.client.order.close("WXPYERR00001")
    assert closed.value.errcode == "ORDERCLOSED"
    with pytest.raises(wechatpy_exceptions.WeChatPayException) as missing:
        world.client.order.query(out_trade_no="WXPYNOSUCH01")
    assert missing.value.errcode == "ORDERNOTEXIST"
    wrong_key = world.other_client("x" * 32, world.running.base_url)
    with pytest.raises(wechatpy_exceptions.WeChatPayException) as unsigned:
        wrong_key.order.query(out_trade_no="WXPYERR00001")
    assert (unsigned.value.return_code, unsigned.value.return_msg) == ("FAIL", "签名错误，请检查后再试")


def test_refund_needs_the_client_certificate_port(world: World) -> None:
    order = create_order(world, "WXPYTLS00001")
    pay(world, order["prepay_id"])
    plain = world.other_client(world.client.api_key, world.running.base_url)  # HTTP: no client certificate
    with pytest.raises(wechatpy_exceptions.WeChatPayException):
        plain.refund.apply(total_fee=100, refund_fee=1, out_refund_no="WXPYTLSR0001", out_trade_no="WXPYTLS00001")
    assert world.running.https_base_url is not None
    no_cert = world.other_client(world.client.api_key, world.running.https_base_url)
    with pytest.raises(requests.exceptions.RequestException):
        no_cert.refund.apply(total_fee=100, refund_fee=1, out_refund_no="WXPYTLSR0001", out_trade_no="WXPYTLS00001")
    assert world.sim.ledger.refund(world.sim.mchid, "WXPYTLSR0001") is None


def test_notenough_then_recharge_funds_with_wechatpy(world: World) -> None:
    order = create_order(world, "WXPYFUND0001")
    pay(world, order["prepay_id"])
    world.control("PUT", "/simulator/faults", {"unsettled_fen": 0, "available_fen": 1000})
    with pytest.raises(wechatpy_exceptions.WeChatPayException) as short:
        world.client.refund.apply(total_fee=100, refund_fee=100, out_refund_no="WXPYFUNDR001",
                                  out_trade_no="WXPYFUND0001")
    assert short.value.errcode == "NOTENOUGH"
    accepted = world.client.refund.apply(total_fee=100, refund_fee=100, out_refund_no="WXPYFUNDR001",
                                         out_trade_no="WXPYFUND0001", refund_account="REFUND_SOURCE_RECHARGE_FUNDS")
    assert accepted["result_code"] == "SUCCESS"
    assert world.sim.ledger.balance(world.sim.mchid) == (0, 900)


def test_download_bill_with_wechatpy(world: World) -> None:
    order = create_order(world, "WXPYBILL0001", total_fee=321)
    pay(world, order["prepay_id"])
    text = world.client.tools.download_bill(compact(world.clock())[:8])
    assert isinstance(text, str), "wechatpy hands back the non-XML bill as text"
    bill = parse_bill(text)
    assert any(row.out_trade_no == "WXPYBILL0001" and row.total_fee_fen == 321 for row in bill.rows)
    with pytest.raises(wechatpy_exceptions.WeChatPayException) as none:
        world.client.tools.download_bill("20200101")
    assert none.value.return_msg == "No Bill Exist"


def test_payment_code_with_wechatpy(world: World) -> None:
    """wechatpy's micropay.create and order.reverse (mutual TLS) against the simulator's 付款码 rules."""
    client = world.client
    code = world.control("POST", "/simulator/payment-codes", {"confirm": "none"})["auth_code"]
    paid = client.micropay.create(body="门店-收银台", total_fee=300, auth_code=code, client_ip="127.0.0.1",
                                  out_trade_no="WXPYPOS00001")  # fmt: skip
    assert (paid["result_code"], paid["trade_type"], paid["total_fee"]) == ("SUCCESS", "MICROPAY", "300")
    assert signing.verify(paid, world.sim.account["apiv2_key"], "MD5")

    waiting = world.control("POST", "/simulator/payment-codes", {"outcome": "wait"})["auth_code"]
    with pytest.raises(wechatpy_exceptions.WeChatPayException) as pending:
        client.micropay.create(body="门店-收银台", total_fee=300, auth_code=waiting, client_ip="127.0.0.1",
                               out_trade_no="WXPYPOS00002")  # fmt: skip
    assert pending.value.errcode == "USERPAYING"
    assert client.micropay.query(out_trade_no="WXPYPOS00002")["trade_state"] == "USERPAYING"

    client.order.API_BASE_URL = world.running.https_base_url + "/"
    try:
        for out_trade_no in ("WXPYPOS00001", "WXPYPOS00002"):
            reversed_ = client.order.reverse(out_trade_no=out_trade_no)
            assert (reversed_["result_code"], reversed_["recall"]) == ("SUCCESS", "N")
    finally:
        client.order.API_BASE_URL = world.running.base_url + "/"
    assert client.order.query(out_trade_no="WXPYPOS00001")["trade_state"] == "REVOKED"
    assert client.order.query(out_trade_no="WXPYPOS00002")["trade_state"] == "REVOKED"
