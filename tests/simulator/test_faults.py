"""The seeded fault plan: injected errors, lost answers, notification faults, WeChat's retry schedule."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from weipay.sdk.errors import SignatureError
from weipay.sdk.v3.verifier import SignedHeaders
from weipay.simulator.clock import ManualClock, ScaledClock
from weipay.simulator.core import Simulator
from weipay.simulator.notifier import RETRY_SCHEDULE_S

from .conftest import BASE_URL, V3Merchant
from .test_v3_lifecycle import order_body


def set_faults(merchant: V3Merchant, **plan: Any) -> dict[str, Any]:
    response = merchant.client.put(f"{BASE_URL}/simulator/faults", json=plan)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def create_and_pay(merchant: V3Merchant, sim: Simulator, out_trade_no: str) -> None:
    assert merchant.request("POST", "/v3/pay/transactions/native", order_body(sim, "native", out_trade_no)
                            ).status_code == 200
    order = sim.ledger.order(sim.mchid, out_trade_no)
    assert order is not None
    sim.pay(order)


def test_system_error_rate_is_reproducible_with_a_seed(merchant: V3Merchant, sim: Simulator) -> None:
    path = f"/v3/pay/transactions/out-trade-no/NONE-00001?mchid={sim.mchid}"

    def run() -> list[int]:
        set_faults(merchant, system_error_rate=0.5, seed=7)
        return [merchant.request("GET", path).status_code for _ in range(24)]

    first, second = run(), run()
    assert first == second
    assert set(first) == {404, 500}
    set_faults(merchant, system_error_rate=0.5, seed=8)
    assert [merchant.request("GET", path).status_code for _ in range(24)] != first
    set_faults(merchant, system_error_rate=1.0)
    error = merchant.request("GET", path)
    assert error.json() == {"code": "SYSTEM_ERROR", "message": "系统异常，请稍后重试"}
    merchant.verify(error)
    # The control API is never faulted.
    assert merchant.client.get(f"{BASE_URL}/simulator/notifications").status_code == 200


def test_other_request_faults(merchant: V3Merchant, sim: Simulator) -> None:
    path = f"/v3/pay/transactions/out-trade-no/NONE-00001?mchid={sim.mchid}"
    set_faults(merchant, frequency_limited_rate=1.0)
    assert merchant.request("GET", path).json()["code"] == "FREQUENCY_LIMITED"
    set_faults(merchant, http_5xx_rate=1.0)
    assert merchant.request("GET", path).status_code == 502
    set_faults(merchant, timeout_rate=1.0)
    with pytest.raises(httpx.ReadTimeout):
        merchant.request("POST", "/v3/pay/transactions/native", order_body(sim, "native", "TIMEOUT-01"))
    assert sim.ledger.order(sim.mchid, "TIMEOUT-01") is None  # refused before any work
    set_faults(merchant, paths=["/pay/"], timeout_rate=1.0)  # v2 only: v3 unaffected
    assert merchant.request("GET", path).status_code == 404


def test_commit_then_timeout(merchant: V3Merchant, sim: Simulator) -> None:
    set_faults(merchant, commit_then_timeout_rate=1.0)
    body = order_body(sim, "jsapi", "LOST-00001")
    with pytest.raises(httpx.ReadTimeout):
        merchant.request("POST", "/v3/pay/transactions/jsapi", body)
    order = sim.ledger.order(sim.mchid, "LOST-00001")
    assert order is not None  # the order exists although the merchant never heard back
    set_faults(merchant)
    retry = merchant.request("POST", "/v3/pay/transactions/jsapi", body)
    assert retry.json() == {"prepay_id": order.prepay_id}


def test_latency_and_clock_skew(merchant: V3Merchant, sim: Simulator, clock: ManualClock) -> None:
    path = f"/v3/pay/transactions/out-trade-no/NONE-00001?mchid={sim.mchid}"
    set_faults(merchant, latency_ms=50)
    import time

    started = time.perf_counter()
    merchant.request("GET", path)
    assert time.perf_counter() - started >= 0.05
    set_faults(merchant, clock_skew_s=400)
    assert sim.now() == pytest.approx(clock() + 400)
    skewed = merchant.request("GET", path)  # the merchant's clock says 400 s earlier than WeChat's
    assert skewed.status_code == 401 and skewed.json()["code"] == "SIGN_ERROR"


def test_fault_plan_validation(merchant: V3Merchant) -> None:
    for bad in ({"nonsense": 1}, {"system_error_rate": 2}, {"latency_ms": -1}, {"notify_reorder": "yes"},
                {"paths": "v3"}, {"unsettled_fen": -1}):
        response = merchant.client.put(f"{BASE_URL}/simulator/faults", json=bad)
        assert response.status_code == 400 and response.json()["code"] == "PARAM_ERROR", bad
    plan = set_faults(merchant, notify_drop_rate=0.25, seed=3, unsettled_fen=10)
    assert plan["notify_drop_rate"] == 0.25 and plan["seed"] == 3 and plan["unsettled_fen"] == 10
    assert merchant.client.get(f"{BASE_URL}/simulator/faults").json() == plan


def _verifying_receiver(merchant: V3Merchant, received: list[httpx.Request], status: int = 204) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        try:
            merchant.verifier.verify(SignedHeaders.from_headers(request.headers), request.content)
        except SignatureError:
            return httpx.Response(401, json={"code": "FAIL", "message": "signature"})
        received.append(request)
        return httpx.Response(status)

    return handle


def test_dropped_then_delivered(merchant: V3Merchant, sim: Simulator, clock: ManualClock,
                                notify_handler: dict[str, Any]) -> None:
    received: list[httpx.Request] = []
    notify_handler["handler"] = _verifying_receiver(merchant, received)
    set_faults(merchant, notify_drop_rate=1.0)
    create_and_pay(merchant, sim, "DROP-00001")
    sim.tick()
    assert received == []
    (notification,) = sim.ledger.notifications()
    assert notification.state == "pending" and notification.attempt == 1
    assert notification.next_at == pytest.approx(clock() + 15)
    set_faults(merchant)
    clock.advance(14)
    sim.tick()
    assert received == []
    clock.advance(1)
    sim.tick()
    assert len(received) == 1
    assert sim.ledger.notifications()[0].state == "delivered"


def test_duplicate_delay_and_probe(merchant: V3Merchant, sim: Simulator, clock: ManualClock,
                                   notify_handler: dict[str, Any], notify_log: list[httpx.Request]) -> None:
    received: list[httpx.Request] = []
    notify_handler["handler"] = _verifying_receiver(merchant, received)
    set_faults(merchant, notify_duplicate_rate=1.0, notify_delay_s=60, signtest_probe_rate=1.0)
    create_and_pay(merchant, sim, "DUP-000001")
    sim.tick()
    assert notify_log == []  # delayed
    clock.advance(60)
    sim.tick()
    assert len(received) == 2 and received[0].content == received[1].content  # duplicated
    assert len(notify_log) == 3  # the probe, rejected by the verifying receiver
    assert notify_log[0].headers["wechatpay-signature"].startswith("WECHATPAY/SIGNTEST/")
    replies = [d["reply"] for d in sim.ledger.deliveries()]
    assert any(reply.startswith("[signtest probe rejected]") for reply in replies)
    assert any(reply.startswith("[duplicate]") for reply in replies)


def test_reorder_is_a_seeded_permutation(merchant: V3Merchant, sim: Simulator, notify_log: list[httpx.Request],
                                         clock: ManualClock) -> None:
    numbers = [f"REORD-{i:04d}" for i in range(8)]
    for number in numbers:
        create_and_pay(merchant, sim, number)
    set_faults(merchant, notify_drop_rate=1.0)
    sim.tick()  # first round: all dropped, in creation order
    first_round = [d["notification_id"] for d in sim.ledger.deliveries() if d["attempt"] == 1]
    assert first_round == sorted(first_round) and len(first_round) == 8
    set_faults(merchant, notify_reorder=True, seed=11)
    clock.advance(15)
    sim.tick()
    second_round = [d["notification_id"] for d in sim.ledger.deliveries() if d["attempt"] == 2]
    assert sorted(second_round) == first_round and second_round != first_round
    assert {n.state for n in sim.ledger.notifications()} == {"delivered"}
    assert len(notify_log) == 8


def test_retry_schedule_scaled_by_time_scale(bundle_dir: Any, notify_log: list[httpx.Request]) -> None:
    """WeChat's 15 retries over 24 h 4 min take 86.64 real seconds at time scale 1000."""
    real = [1_000_000.0]
    clock = ScaledClock(1000, real=lambda: real[0])

    def refuse(request: httpx.Request) -> httpx.Response:
        notify_log.append(request)
        return httpx.Response(500, json={"code": "FAIL", "message": "失败"})

    sim = Simulator(bundle_dir, clock=clock, time_scale=1000, notify_transport=httpx.MockTransport(refuse))
    try:
        from weipay.simulator.ledger import Order

        now = sim.now()
        sim.ledger.create_order(Order(
            mchid=sim.mchid, out_trade_no="SCHED-0001", api="v3", trade_type="NATIVE",
            appid=sim.account["appids"]["app"], description="d", amount_fen=1, currency="CNY",
            notify_url="http://127.0.0.1:9/n", attach="", openid="", payer_client_ip="", time_expire=now + 9e9,
            prepay_id="wx1", code_url="weixin://x", h5_url=None, state="NOTPAY", trade_state_desc="",
            transaction_id=None, bank_type=None, success_time=None, sign_type=None, fingerprint="f", created_at=now,
            payer_openid=None))
        order = sim.ledger.order(sim.mchid, "SCHED-0001")
        assert order is not None
        sim.pay(order)
        start_real = real[0]
        sim.tick()
        for gap_s in RETRY_SCHEDULE_S:
            real[0] += gap_s / 1000 - 0.002  # just before the retry is due: nothing happens
            before = len(notify_log)
            sim.tick()
            assert len(notify_log) == before
            real[0] += 0.002 + 1e-6
            sim.tick()
            assert len(notify_log) == before + 1
        assert len(notify_log) == 16
        assert real[0] - start_real == pytest.approx(86.64, abs=0.001)
        (notification,) = sim.ledger.notifications()
        assert notification.state == "failed" and notification.attempt == 16
        real[0] += 100
        sim.tick()
        assert len(notify_log) == 16  # given up
        times = [d["at"] for d in sim.ledger.deliveries()]
        gaps = [round(b - a) for a, b in itertools.pairwise(times)]
        assert gaps == list(RETRY_SCHEDULE_S)
    finally:
        sim.close()


def test_slow_merchant_counts_as_failure(merchant: V3Merchant, sim: Simulator, notify_handler: dict[str, Any]) -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("merchant took more than 5 s", request=request)

    notify_handler["handler"] = hang
    create_and_pay(merchant, sim, "SLOW-00001")
    sim.tick()
    (notification,) = sim.ledger.notifications()
    assert notification.state == "pending" and notification.last_status is None
    assert "5 s" in (notification.last_reply or "")


def test_fast_time_keeps_signatures_on_wall_time(bundle_dir: Any) -> None:
    """At time scale 100000 a day passes in a second, yet merchants sign and verify with their real clocks."""
    import time

    from weipay.sdk.credentials import MerchantCredentials
    from weipay.sdk.v3.verifier import Verifier
    from weipay.simulator.transport import SimulatorTransport

    sim = Simulator(bundle_dir, time_scale=100_000)
    try:
        credentials = MerchantCredentials.from_bundle(bundle_dir / "merchant")
        verifier = Verifier(clock=time.time)
        verifier.add_public_key(sim.account["wechatpay_public_key_id"], sim.account["wechatpay_public_key"])
        with httpx.Client(transport=SimulatorTransport(sim)) as client:
            merchant = V3Merchant(credentials, client, time.time, verifier)  # type: ignore[arg-type]
            time.sleep(0.01)  # 1000 simulated seconds
            assert sim.now() - time.time() > 500
            response = merchant.request("POST", "/v3/pay/transactions/native",
                                        order_body(sim, "native", "FAST-00001"))
            assert response.status_code == 200
            merchant.verify(response)  # timestamp within 5 minutes of the real clock
            order = sim.ledger.order(sim.mchid, "FAST-00001")
            assert order is not None
            sim.pay(order)
            merchant.request("POST", "/v3/refund/domestic/refunds", {
                "out_trade_no": "FAST-00001", "out_refund_no": "FAST-R1",
                "amount": {"refund": 1, "total": 100, "currency": "CNY"}})
            time.sleep(0.01)
            sim.tick()
            assert merchant.request("GET", "/v3/refund/domestic/refunds/FAST-R1").json()["status"] == "SUCCESS"
    finally:
        sim.close()


@pytest.mark.parametrize("verification", ["platform_certificate"], indirect=True)
def test_gray_release_of_public_key_notifications(merchant: V3Merchant, sim: Simulator,
                                                  notify_log: list[httpx.Request]) -> None:
    set_faults(merchant, notify_public_key_rate=0.5, seed=5)
    for index in range(12):
        create_and_pay(merchant, sim, f"GRAY-{index:04d}")
    sim.tick()
    serials = {request.headers["wechatpay-serial"] for request in notify_log}
    assert serials == {sim.account["platform_serial_no"], sim.account["wechatpay_public_key_id"]}
    for request in notify_log:  # both kinds verify with a merchant that trusts both keys
        merchant.verifier.verify(SignedHeaders.from_headers(request.headers), request.content)


def test_plans_without_a_seed_use_the_simulators_seed(bundle_dir: Any) -> None:
    from weipay.simulator.transport import SimulatorTransport

    sim = Simulator(bundle_dir, seed=42)
    try:
        with httpx.Client(transport=SimulatorTransport(sim)) as client:
            plan = client.put(f"{BASE_URL}/simulator/faults", json={"system_error_rate": 0.1}).json()
        assert plan["seed"] == 42
    finally:
        sim.close()
