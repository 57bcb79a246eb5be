"""The ledger under concurrency and across re-entry: money never moves twice, refunds never exceed payments."""

from __future__ import annotations

import threading
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from weipay.simulator.ledger import Ledger, LedgerRefusal, Order, Refund

MCHID = "1900000109"


def _order(out_trade_no: str, amount_fen: int, fingerprint: str = "f") -> Order:
    return Order(
        mchid=MCHID, out_trade_no=out_trade_no, api="v3", trade_type="NATIVE", appid="wx0", description="d",
        amount_fen=amount_fen, currency="CNY", notify_url="", attach="", openid="", payer_client_ip="",
        time_expire=1e12, prepay_id="wx" + out_trade_no, code_url=None, h5_url=None, state="NOTPAY",
        trade_state_desc="", transaction_id=None, bank_type=None, success_time=None, sign_type=None,
        fingerprint=fingerprint, created_at=0.0, payer_openid=None,
    )


def _refund(out_refund_no: str, out_trade_no: str, amount_fen: int, total_fen: int) -> Refund:
    return Refund(
        mchid=MCHID, out_refund_no=out_refund_no, refund_id="503" + out_refund_no, out_trade_no=out_trade_no,
        api="v3", amount_fen=amount_fen, total_fen=total_fen, status="PROCESSING", funds_account="UNSETTLED",
        reason="", notify_url="", fingerprint=f"{amount_fen}", created_at=0.0, success_time=None,
        user_received_account="", due_at=0.0,
    )


def test_concurrent_payments_and_refunds(tmp_path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    order, _ = ledger.create_order(_order("CONC-0001", 1000))
    outcomes: list[str] = []

    def pay(index: int) -> None:
        try:
            ledger.pay_order(order, transaction_id=f"42{index:026d}", payer_openid="o", bank_type="OTHERS", now=1.0)
            outcomes.append("ok")
        except LedgerRefusal as refusal:
            outcomes.append(refusal.reason)

    threads = [threading.Thread(target=pay, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok"] + ["paid"] * 15  # one payment; the others lose the race harmlessly
    assert ledger.balance(MCHID) == (1000, 0)  # credited exactly once

    accepted: list[int] = []

    def refund(index: int) -> None:
        try:
            ledger.create_refund(_refund(f"R{index:03d}", "CONC-0001", 150, 1000))
            accepted.append(index)
        except LedgerRefusal as refusal:
            assert refusal.reason == "over_refund"

    threads = [threading.Thread(target=refund, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(accepted) == 6  # 6 x 150 <= 1000 < 7 x 150
    assert ledger.balance(MCHID) == (100, 0)
    ledger.close()


@settings(max_examples=40, deadline=None)
@given(amount=st.integers(1, 10_000), refunds=st.lists(st.tuples(st.integers(0, 5), st.integers(1, 6000)),
                                                       max_size=12))
def test_refunds_never_exceed_the_payment(amount: int, refunds: list[tuple[int, int]]) -> None:
    ledger = Ledger(":memory:")
    try:
        order, created = ledger.create_order(_order("PROP-0001", amount))
        assert created
        again, created_again = ledger.create_order(_order("PROP-0001", amount))
        assert again == order and not created_again  # re-entry returns the stored order
        try:
            ledger.create_order(replace(_order("PROP-0001", amount), fingerprint="other"))
            raise AssertionError("different parameters must be refused")
        except LedgerRefusal as refusal:
            assert refusal.reason == "params_differ"
        ledger.pay_order(order, transaction_id="4200", payer_openid="o", bank_type="OTHERS", now=1.0)
        for number, refund_fen in refunds:
            try:
                ledger.create_refund(_refund(f"P{number}", "PROP-0001", refund_fen, amount))
            except LedgerRefusal as refusal:
                assert refusal.reason in ("over_refund", "params_differ")
        stored = ledger.refunds_for_order(MCHID, "PROP-0001")
        assert sum(r.amount_fen for r in stored) <= amount
        assert len({r.out_refund_no for r in stored}) == len(stored)
        assert ledger.balance(MCHID)[0] == amount - sum(r.amount_fen for r in stored)
    finally:
        ledger.close()
