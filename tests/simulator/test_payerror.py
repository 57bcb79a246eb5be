"""WeChat's PAYERROR on the simulator: the bank refused, yet the order stays payable until it is closed or expires
(why WeChat asks merchants to close a failed order before paying with a new out_trade_no)."""

from __future__ import annotations

from weipay.simulator.clock import ManualClock
from weipay.simulator.core import Simulator

from .conftest import BASE_URL, V3Merchant
from .test_v3_lifecycle import order_body


def _create(merchant: V3Merchant, sim: Simulator, out_trade_no: str) -> None:
    answer = merchant.request("POST", "/v3/pay/transactions/native", order_body(sim, "native", out_trade_no))
    assert answer.status_code == 200, answer.text


def _query(merchant: V3Merchant, sim: Simulator, out_trade_no: str) -> dict[str, str]:
    answer = merchant.request("GET", f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={sim.mchid}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _pay(merchant: V3Merchant, sim: Simulator, out_trade_no: str, outcome: str) -> dict[str, str]:
    body = {"mchid": sim.mchid, "out_trade_no": out_trade_no, "outcome": outcome}
    answer = merchant.client.post(f"{BASE_URL}/simulator/payments", json=body)
    return {"status": str(answer.status_code), **answer.json()}


def test_payerror_then_success_on_the_same_out_trade_no(sim: Simulator, merchant: V3Merchant) -> None:
    _create(merchant, sim, "PAYERR-1")
    assert _pay(merchant, sim, "PAYERR-1", "bank_error")["trade_state"] == "PAYERROR"
    assert _query(merchant, sim, "PAYERR-1")["trade_state"] == "PAYERROR"
    paid = _pay(merchant, sim, "PAYERR-1", "success")  # the payer tries again with another card
    assert paid["trade_state"] == "SUCCESS" and paid["transaction_id"]
    assert _query(merchant, sim, "PAYERR-1")["trade_state"] == "SUCCESS"


def test_close_after_payerror_closes_it_for_good_once_five_minutes_passed(
    sim: Simulator, merchant: V3Merchant, clock: ManualClock
) -> None:
    _create(merchant, sim, "PAYERR-2")
    sim.strict = True  # WeChat's rules, the five-minute close rule among them
    _pay(merchant, sim, "PAYERR-2", "bank_error")
    close = "/v3/pay/transactions/out-trade-no/PAYERR-2/close"
    too_early = merchant.request("POST", close, {"mchid": sim.mchid})
    assert too_early.status_code == 400  # WeChat's five-minute rule applies to a failed order too
    clock.advance(301)
    assert merchant.request("POST", close, {"mchid": sim.mchid}).status_code == 204
    assert _query(merchant, sim, "PAYERR-2")["trade_state"] == "CLOSED"
    refused = _pay(merchant, sim, "PAYERR-2", "success")
    assert refused["status"] != "200" and _query(merchant, sim, "PAYERR-2")["trade_state"] == "CLOSED"
