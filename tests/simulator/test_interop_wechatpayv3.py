"""wechatpayv3 2.0.4 against the simulator over real loopback HTTP (uvicorn in a thread), in both verification
modes: order -> pay -> notification verified by wechatpayv3's own ``callback()`` -> query -> refund -> refund
notification -> close -> bill; and a restart of the simulator in the middle of it."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from wechatpayv3 import WeChatPay, WeChatPayType

from weipay.simulator.clock import beijing
from weipay.simulator.core import Simulator
from weipay.simulator.server import RunningSimulator, start_in_thread

pytestmark = pytest.mark.parametrize("verification", ["public_key", "platform_certificate"], indirect=True)


class Receiver:
    """A merchant notify endpoint on loopback that trusts only what wechatpayv3's ``callback()`` accepts."""

    def __init__(self) -> None:
        self.verify: Callable[[dict[str, str], bytes], Any] = lambda headers, body: None
        self.accepted: list[dict[str, Any]] = []
        self.rejected = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                result = receiver.verify(dict(self.headers), body)
                if result:
                    receiver.accepted.append(result)
                    self.send_response(200)
                    payload = b'{"code":"SUCCESS","message":"OK"}'
                else:
                    receiver.rejected += 1
                    self.send_response(401)
                    payload = json.dumps({"code": "FAIL", "message": "签名错误"}).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify/wechatpay/v3"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.accepted) < count:
            assert time.monotonic() < deadline, f"only {len(self.accepted)} notifications arrived"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def _bootstrap_cert_dir(path: Path) -> str:
    """wechatpayv3 downloads certificates in __init__, before its gateway can be pointed at the simulator.
    A placeholder certificate satisfies __init__; the real platform certificate then comes from /v3/certificates."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "placeholder")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    path.mkdir()
    (path / "1.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


def make_wxpay(sim: Simulator, bundle_dir: Path, tmp_path: Path, server: RunningSimulator, notify_url: str,
               kind: WeChatPayType = WeChatPayType.NATIVE, appid_kind: str = "app") -> WeChatPay:
    merchant = bundle_dir / "merchant"
    account = json.loads((merchant / "account.json").read_text())
    options: dict[str, Any] = {}
    if account["verification"] == "public_key":
        options = {"public_key": (merchant / "wechatpay_public_key.pem").read_text(),
                   "public_key_id": account["wechatpay_public_key_id"]}
    else:
        options = {"cert_dir": _bootstrap_cert_dir(tmp_path / f"certs-{kind.name}")}
    wxpay = WeChatPay(wechatpay_type=kind, mchid=account["mchid"],
                      private_key=(merchant / "apiclient_key.pem").read_text(),
                      cert_serial_no=account["merchant_serial_no"], appid=account["appids"][appid_kind],
                      apiv3_key=account["apiv3_key"], notify_url=notify_url, timeout=(5, 10), **options)
    wxpay._core._gate_way = server.base_url
    if account["verification"] == "platform_certificate":
        wxpay._core._certificates.clear()
        wxpay._core._update_certificates()  # GET /v3/certificates from the simulator, decrypted by wechatpayv3
        assert [f"{c.serial_number:X}" for c in wxpay._core._certificates] == [sim.account["platform_serial_no"]]
    return wxpay


def _pay(server: RunningSimulator, **body: Any) -> dict[str, Any]:
    response = httpx.post(f"{server.base_url}/simulator/payments", json=body, timeout=5)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_wechatpayv3_lifecycle(bundle_dir: Path, tmp_path: Path, receiver: Receiver, verification: str) -> None:
    sim = Simulator(bundle_dir)
    sim.refund_processing_s = 0.2
    server = start_in_thread(sim, https_port=None)
    try:
        wxpay = make_wxpay(sim, bundle_dir, tmp_path, server, receiver.url)
        receiver.verify = wxpay.callback

        code, message = wxpay.pay(description="测试商品-QQ公仔", out_trade_no="WXPV3-0001", amount={"total": 100})
        assert code == 200, message
        code_url = json.loads(message)["code_url"]
        assert wxpay.pay(description="测试商品-QQ公仔", out_trade_no="WXPV3-0001", amount={"total": 100}) == \
            (200, message)  # re-entry: same answer
        code, message = wxpay.pay(description="测试商品-QQ公仔", out_trade_no="WXPV3-0001", amount={"total": 99})
        assert code == 400 and json.loads(message)["code"] == "INVALID_REQUEST"

        mini = make_wxpay(sim, bundle_dir, tmp_path, server, receiver.url, WeChatPayType.MINIPROG, "miniprogram")
        openid = sim.openid_for(sim.account["appids"]["miniprogram"], "alice")
        code, message = mini.pay(description="小程序订单", out_trade_no="WXPV3-0002", amount={"total": 5},
                                 payer={"openid": openid})
        assert code == 200 and json.loads(message)["prepay_id"].startswith("wx")
        h5 = make_wxpay(sim, bundle_dir, tmp_path, server, receiver.url, WeChatPayType.H5, "official_account")
        code, message = h5.pay(description="H5订单", out_trade_no="WXPV3-0003", amount={"total": 7},
                               scene_info={"payer_client_ip": "203.0.113.9", "h5_info": {"type": "Wap"}})
        assert code == 200 and "prepay_id=" in json.loads(message)["h5_url"]

        paid = _pay(server, code_url=code_url)
        receiver.wait_for(1)
        notification = receiver.accepted[0]
        assert notification["event_type"] == "TRANSACTION.SUCCESS"
        assert notification["resource"]["out_trade_no"] == "WXPV3-0001"
        assert notification["resource"]["transaction_id"] == paid["transaction_id"]
        assert notification["resource"]["amount"]["total"] == 100

        code, message = wxpay.query(out_trade_no="WXPV3-0001")
        assert code == 200 and json.loads(message)["trade_state"] == "SUCCESS"
        code, message = wxpay.query(transaction_id=paid["transaction_id"])
        assert code == 200 and json.loads(message)["out_trade_no"] == "WXPV3-0001"

        code, message = wxpay.refund(out_refund_no="WXPV3-R1", amount={"refund": 40, "total": 100, "currency": "CNY"},
                                     out_trade_no="WXPV3-0001", notify_url=receiver.url)
        assert code == 200 and json.loads(message)["status"] == "PROCESSING"
        code, message = wxpay.refund(out_refund_no="WXPV3-R2", amount={"refund": 61, "total": 100, "currency": "CNY"},
                                     out_trade_no="WXPV3-0001")
        assert code == 400  # over the refundable amount
        receiver.wait_for(2)
        refund_notification = receiver.accepted[1]
        assert refund_notification["event_type"] == "REFUND.SUCCESS"
        assert refund_notification["resource"]["out_refund_no"] == "WXPV3-R1"
        code, message = wxpay.query_refund(out_refund_no="WXPV3-R1")
        assert code == 200 and json.loads(message)["status"] == "SUCCESS"

        assert mini.close(out_trade_no="WXPV3-0002")[0] == 204  # wechatpayv3 verifies the signed 204

        today = beijing(sim.now()).date().isoformat()
        code, message = wxpay.trade_bill(bill_date=today)
        assert code == 200
        bill = json.loads(message)
        code, content = wxpay.download_bill(bill["download_url"])
        assert code == 200
        text = gzip.decompress(content)
        assert hashlib.sha1(text).hexdigest() == bill["hash_value"]
        assert paid["transaction_id"] in text.decode()
        assert receiver.rejected == 0
    finally:
        server.stop()
        sim.close()


def test_wechatpayv3_across_a_restart(bundle_dir: Path, tmp_path: Path, receiver: Receiver,
                                      verification: str) -> None:
    sim = Simulator(bundle_dir)
    server = start_in_thread(sim, https_port=None)
    receiver_down = True
    try:
        wxpay = make_wxpay(sim, bundle_dir, tmp_path, server, receiver.url)
        receiver.verify = lambda headers, body: None if receiver_down else wxpay.callback(headers, body)
        code, message = wxpay.pay(description="重启测试", out_trade_no="RESTART-01", amount={"total": 300})
        assert code == 200
        paid = _pay(server, code_url=json.loads(message)["code_url"])
        deadline = time.monotonic() + 5
        while receiver.rejected == 0:  # first delivery refused: the merchant is "down"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        server.stop()
        sim.close()

    # A new process on the same directory, with time running fast enough for the 15 s retry to come quickly.
    receiver_down = False
    restarted = Simulator(bundle_dir, time_scale=30)
    server = start_in_thread(restarted, https_port=None)
    try:
        wxpay._core._gate_way = server.base_url
        receiver.wait_for(1, timeout_s=5)  # the pending notification continues after the restart
        assert receiver.accepted[0]["resource"]["transaction_id"] == paid["transaction_id"]
        code, message = wxpay.query(out_trade_no="RESTART-01")
        assert code == 200 and json.loads(message)["trade_state"] == "SUCCESS"
    finally:
        server.stop()
        restarted.close()
