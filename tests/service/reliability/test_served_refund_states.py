"""Black box over real HTTP: ``weipay simulator serve`` + ``weipay serve`` + ``weipay worker``, each its own process.

- ABNORMAL: WeChat cannot pay a refund back and holds the money. The service must keep it reserved and say
  ``abnormal`` (not ``failed``); ``POST /v1/refunds/{id}/abnormal-refund`` sends it to the payer's card through
  WeChat's apply-abnormal-refund (card fields encrypted), and WeChat's SUCCESS then ends it ``succeeded``.
- A refund made in the merchant portal reaches the service only as WeChat's notification for an
  ``out_refund_no`` it never minted: the order must count it (refunded, external refund listed).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from weipay.sdk import Client, MerchantCredentials
from weipay.sdk import v3 as sdk_v3
from weipay.service.db import upgrade

from .served import Server, free_port

MCHID = "1900000109"
API_KEY = "served-refund-states-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
WEIPAY = str(Path(sys.executable).with_name("weipay"))
# Half speed: a refund WeChat accepts stays PROCESSING 4 s here, time enough to make it ABNORMAL first.
TIME_SCALE = "0.5"


@dataclass
class Stack:
    """The three processes, a merchant client of the service and a client of the simulator's control API."""

    api: httpx.Client
    control: httpx.Client
    bundle: Path
    wechat_url: str
    service_url: str


def _wait_for(what: str, check: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[Stack]:
    bundle = tmp_path / "bundle"
    subprocess.run([WEIPAY, "simulator", "init", str(bundle), "--mchid", MCHID], check=True, capture_output=True)
    wechat_port, service_port = free_port(), free_port()
    wechat_url = f"http://127.0.0.1:{wechat_port}"
    processes = [subprocess.Popen(
        [WEIPAY, "simulator", "serve", str(bundle), "--port", str(wechat_port), "--https-port", str(free_port()),
         "--time-scale", TIME_SCALE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]  # fmt: skip
    control = httpx.Client(base_url=wechat_url, timeout=10)
    upgrade(database_url)
    config = tmp_path / "weipay.toml"
    config.write_text(
        f'database_url = "{database_url}"\npublic_base_url = "http://127.0.0.1:{service_port}"\n\n'
        f'[[merchants]]\nmchid = "{MCHID}"\nbundle_dir = "{bundle / "merchant"}"\n'
        f'api_keys = ["{API_KEY}"]\n'
        f'wechat = {{ base_url = "{wechat_url}", login_base_url = "{wechat_url}" }}\n'
    )
    server: Server | None = None
    try:
        _wait_for("the simulator", lambda: _answers(control, "/simulator/faults"))
        server = Server(config, service_port)
        processes.append(subprocess.Popen([WEIPAY, "worker", "--config", str(config), "--poll-interval", "0.2"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as api:
            yield Stack(api, control, bundle, wechat_url, server.url)
    finally:
        if server is not None:
            server.kill()
        for process in processes:
            process.terminate()
            process.wait(10)
        control.close()


def _answers(client: httpx.Client, path: str) -> bool:
    try:
        return client.get(path).status_code == 200
    except httpx.HTTPError:
        return False


def _paid_order(stack: Stack, number: str, amount: int = 3000) -> tuple[dict[str, Any], dict[str, Any]]:
    order = stack.api.post("/v1/orders", json={"merchant_order_no": number, "amount": amount,
                                               "description": "tea"}).json()  # fmt: skip
    payment = stack.api.post(f"/v1/orders/{order['id']}/payments", json={"channel": "native", "api": "v3"}).json()
    paid = stack.control.post("/simulator/payments", json={"code_url": payment["code_url"]})
    assert paid.status_code == 200, paid.text
    _wait_for("the payment", lambda: stack.api.get(f"/v1/orders/{order['id']}").json()["status"] == "paid")
    return order, payment


def _refund_status(stack: Stack, refund_id: str) -> str:
    return str(stack.api.get(f"/v1/refunds/{refund_id}").json()["status"])


def test_abnormal_refund_is_held_then_sent_to_the_payer_card_and_succeeds(stack: Stack) -> None:
    order, _ = _paid_order(stack, "SERVED-AB-1")
    refund = stack.api.post(f"/v1/orders/{order['id']}/refunds",
                            json={"merchant_refund_no": "AB-1", "amount": 1200}).json()  # fmt: skip
    assert refund["status"] == "processing", refund
    # The payer's account is closed: WeChat ends the refund ABNORMAL and notifies it.
    ended = stack.control.post("/simulator/refunds", json={"out_refund_no": refund["out_refund_no"],
                                                           "status": "ABNORMAL"})  # fmt: skip
    assert ended.status_code == 200, ended.text
    _wait_for("refund abnormal", lambda: _refund_status(stack, refund["id"]) != "processing")
    assert _refund_status(stack, refund["id"]) == "abnormal"
    held = stack.api.get(f"/v1/orders/{order['id']}").json()
    assert (held["status"], held["refunded_amount"]) == ("paid", 0)
    too_much = stack.api.post(f"/v1/orders/{order['id']}/refunds", json={"merchant_refund_no": "AB-2",
                                                                          "amount": 1801})  # fmt: skip
    assert too_much.status_code == 409  # the held 1200 is not refundable again

    sent = stack.api.post(f"/v1/refunds/{refund['id']}/abnormal-refund", json={
        "type": "user_bank_card", "bank_type": "ICBC_DEBIT", "bank_account": "6222020200001234567",
        "real_name": "张三"})  # fmt: skip
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] in ("processing", "succeeded")
    _wait_for("refund succeeded", lambda: _refund_status(stack, refund["id"]) == "succeeded")
    final = stack.api.get(f"/v1/orders/{order['id']}").json()
    assert (final["status"], final["refunded_amount"]) == ("partially_refunded", 1200)
    at_wechat = stack.control.get("/simulator/orders", params={"out_trade_no": final["attempts"][0]["out_trade_no"]})
    (wechat_refund,) = at_wechat.json()["orders"][0]["refunds"]
    assert (wechat_refund["status"], wechat_refund["amount_fen"]) == ("SUCCESS", 1200)


def test_a_merchant_portal_refund_is_counted_by_the_order(stack: Stack) -> None:
    order, payment = _paid_order(stack, "SERVED-EXT-1")
    credentials = MerchantCredentials.from_bundle(stack.bundle / "merchant")
    # The merchant refunds in the merchant portal (played by a plain SDK client): weipay never saw it.
    with Client(credentials, base_url=stack.wechat_url) as portal:
        portal.call(sdk_v3.CreateRefund(
            out_refund_no="PORTAL-1", refund_fen=3000, total_fen=3000, out_trade_no=payment["out_trade_no"],
            notify_url=f"{stack.service_url}/notify/wechatpay/v3/{MCHID}"))  # fmt: skip

    def counted() -> bool:
        return bool(stack.api.get(f"/v1/orders/{order['id']}").json()["refunded_amount"] == 3000)

    _wait_for("the external refund", counted)
    final = stack.api.get(f"/v1/orders/{order['id']}").json()
    assert final["status"] == "refunded"
    assert [(r["kind"], r["status"], r["out_refund_no"]) for r in final["refunds"]] == [
        ("external", "succeeded", "PORTAL-1")]  # fmt: skip
