"""付款码 in the simulator, driven by our SDK clients (sync and async) over v2 and v3.

The rules: codes are minted by the payer (control API) and usable once within a minute; a charge pays at once
(no password) or stays USERPAYING until the payer decides; a reverse closes an unpaid order for good and
refunds a paid one, within seven days, never after a refund.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from weipay.sdk import AsyncClient, Client, MerchantCredentials, PaymentPending, WeChatRefused
from weipay.sdk import v2 as sdk_v2
from weipay.sdk import v3 as sdk_v3
from weipay.simulator.clock import ManualClock
from weipay.simulator.codepay import CODE_TTL_S, REVERSE_WINDOW_S
from weipay.simulator.core import Simulator
from weipay.simulator.transport import SimulatorTransport


@pytest.fixture
def client(sim: Simulator, bundle_dir: Path, clock: ManualClock) -> Iterator[Client]:
    credentials = MerchantCredentials.from_bundle(bundle_dir / "merchant")
    with Client(credentials, transport=SimulatorTransport(sim), secure_transport=SimulatorTransport(sim, mtls=True),
                base_url=sim.base_url, secure_base_url=sim.https_base_url, clock=clock) as sdk_client:  # fmt: skip
        yield sdk_client


def control(sim: Simulator, path: str, body: dict[str, Any]) -> httpx.Response:
    with httpx.Client(transport=SimulatorTransport(sim), base_url=sim.base_url) as http:
        return http.post(path, json=body)


def new_code(sim: Simulator, **body: Any) -> str:
    response = control(sim, "/simulator/payment-codes", body)
    assert response.status_code == 200, response.text
    code = str(response.json()["auth_code"])
    assert len(code) == 18 and 10 <= int(code[:2]) <= 15
    return code


def appid(sim: Simulator) -> str:
    return str(sim.account["appids"]["miniprogram"])


def micropay(sim: Simulator, out_trade_no: str, code: str, fen: int = 500) -> sdk_v2.Micropay:
    return sdk_v2.Micropay(appid=appid(sim), body="门店-收银台", out_trade_no=out_trade_no, total_fee_fen=fen,
                           spbill_create_ip="10.0.0.8", auth_code=code)  # fmt: skip


def state(sim: Simulator, out_trade_no: str) -> str:
    order = sim.ledger.order(sim.mchid, out_trade_no)
    assert order is not None
    return order.state


def test_a_code_without_password_pays_at_once_and_only_once(sim: Simulator, client: Client) -> None:
    code = new_code(sim, confirm="none")
    paid = client.call(micropay(sim, "POS0000001", code))
    assert paid.trade_type == "MICROPAY" and paid.transaction_id.startswith("42000") and paid.openid
    assert client.call(sdk_v2.OrderQuery(appid=appid(sim), out_trade_no="POS0000001")).trade_state == "SUCCESS"
    assert client.call(micropay(sim, "POS0000001", code)).transaction_id == paid.transaction_id  # same charge again
    with pytest.raises(WeChatRefused) as used:
        client.call(micropay(sim, "POS0000002", code))
    assert used.value.code == "AUTH_CODE_INVALID"
    with pytest.raises(WeChatRefused) as other:
        client.call(micropay(sim, "POS0000001", new_code(sim), fen=501))
    assert other.value.code == "OUT_TRADE_NO_USED"
    assert sim.ledger.balance(sim.mchid)[0] == 500


def test_an_expired_or_unknown_code_is_refused(sim: Simulator, client: Client, clock: ManualClock) -> None:
    code = new_code(sim)
    clock.advance(CODE_TTL_S + 1)
    with pytest.raises(WeChatRefused) as expired:
        client.call(micropay(sim, "POS0000003", code))
    assert (expired.value.code, expired.value.retryable) == ("AUTHCODEEXPIRE", False)
    with pytest.raises(WeChatRefused) as unknown:
        client.call(micropay(sim, "POS0000004", "134567890123456789"))
    assert unknown.value.code == "AUTH_CODE_INVALID"
    assert sim.ledger.order(sim.mchid, "POS0000003") is None


def test_userpaying_then_the_payer_pays(sim: Simulator, client: Client, clock: ManualClock) -> None:
    code = new_code(sim, confirm="password", confirm_s=12)
    with pytest.raises(PaymentPending) as pending:
        client.call(micropay(sim, "POS0000005", code))
    assert pending.value.user_paying
    query = sdk_v2.OrderQuery(appid=appid(sim), out_trade_no="POS0000005")
    assert client.call(query).trade_state == "USERPAYING"
    clock.advance(5)
    assert client.call(query).trade_state == "USERPAYING"
    clock.advance(8)
    paid = client.call(query)
    assert (paid.trade_state, paid.trade_type, paid.total_fee_fen) == ("SUCCESS", "MICROPAY", 500)


@pytest.mark.parametrize("outcome", ["cancel", "insufficient_balance"])
def test_userpaying_then_the_payer_gives_up(sim: Simulator, client: Client, clock: ManualClock, outcome: str) -> None:
    with pytest.raises(PaymentPending):
        client.call(micropay(sim, "POS0000006", new_code(sim, outcome=outcome, confirm_s=3)))
    clock.advance(3)
    assert sim.tick()["code_charges"] == 1
    assert state(sim, "POS0000006") == "PAYERROR"


def test_without_password_the_balance_decides_at_once(sim: Simulator, client: Client) -> None:
    with pytest.raises(WeChatRefused) as poor:
        client.call(micropay(sim, "POS0000007", new_code(sim, confirm="none", outcome="insufficient_balance")))
    assert poor.value.code == "NOTENOUGH"
    with pytest.raises(PaymentPending) as bank:
        client.call(micropay(sim, "POS0000008", new_code(sim, confirm="none", outcome="bank_error")))
    assert bank.value.code == "BANKERROR"
    assert client.call(sdk_v2.OrderQuery(appid=appid(sim), out_trade_no="POS0000008")).trade_state == "PAYERROR"


def test_the_payer_decides_through_the_control_api(sim: Simulator, client: Client) -> None:
    with pytest.raises(PaymentPending):
        client.call(micropay(sim, "POS0000009", new_code(sim, outcome="wait")))
    decided = control(sim, "/simulator/payments", {"out_trade_no": "POS0000009", "outcome": "success"})
    assert decided.json()["trade_state"] == "SUCCESS"
    again = control(sim, "/simulator/payments", {"out_trade_no": "POS0000009", "outcome": "cancel"})
    assert again.status_code == 409


def test_reversing_a_paid_order_refunds_it(sim: Simulator, client: Client) -> None:
    client.call(micropay(sim, "POS0000010", new_code(sim, confirm="none")))
    assert sim.ledger.balance(sim.mchid)[0] == 500
    reverse = sdk_v2.Reverse(appid=appid(sim), out_trade_no="POS0000010")
    assert client.call(reverse).out_trade_no is None
    assert client.call(reverse) is not None  # twice is fine
    assert state(sim, "POS0000010") == "REVOKED" and sim.ledger.balance(sim.mchid)[0] == 0
    with pytest.raises(WeChatRefused) as reversed_:
        client.call(micropay(sim, "POS0000010", "134567890123456789"))
    assert reversed_.value.code == "OUT_TRADE_NO_USED"


def test_a_reversed_order_can_never_be_paid(sim: Simulator, client: Client, clock: ManualClock) -> None:
    code = new_code(sim, confirm_s=20)
    with pytest.raises(PaymentPending):
        client.call(micropay(sim, "POS0000011", code))
    client.call(sdk_v2.Reverse(appid=appid(sim), out_trade_no="POS0000011"))
    clock.advance(30)
    assert client.call(sdk_v2.OrderQuery(appid=appid(sim), out_trade_no="POS0000011")).trade_state == "REVOKED"
    refused = control(sim, "/simulator/payments", {"out_trade_no": "POS0000011", "outcome": "success"})
    assert refused.status_code == 409
    with pytest.raises(WeChatRefused) as again:
        client.call(micropay(sim, "POS0000011", code))
    assert again.value.code == "ORDERREVERSED"
    assert sim.ledger.balance(sim.mchid)[0] == 0


def test_reverse_is_refused_when_late_or_not_a_code_order(sim: Simulator, client: Client, clock: ManualClock) -> None:
    client.call(micropay(sim, "POS0000012", new_code(sim, confirm="none")))
    clock.advance(REVERSE_WINDOW_S + 60)
    with pytest.raises(WeChatRefused) as late:
        client.call(sdk_v2.Reverse(appid=appid(sim), out_trade_no="POS0000012"))
    assert (late.value.code, late.value.retryable) == ("REVERSE_EXPIRE", False)
    client.call(sdk_v2.UnifiedOrder(trade_type="NATIVE", appid=appid(sim), body="x", out_trade_no="NAT0000001",
                                    total_fee_fen=1, spbill_create_ip="10.0.0.1",
                                    notify_url="https://m.example.com/notify"))  # fmt: skip
    with pytest.raises(WeChatRefused) as wrong:
        client.call(sdk_v2.Reverse(appid=appid(sim), out_trade_no="NAT0000001"))
    assert wrong.value.code == "TRADE_ERROR"
    with pytest.raises(WeChatRefused) as absent:
        client.call(sdk_v2.Reverse(appid=appid(sim), out_trade_no="NOPE000001"))
    assert absent.value.code == "ORDERNOTEXIST"


def test_reverse_needs_the_client_certificate(sim: Simulator, bundle_dir: Path, clock: ManualClock) -> None:
    credentials = MerchantCredentials.from_bundle(bundle_dir / "merchant")
    with (
        Client(credentials, transport=SimulatorTransport(sim), base_url=sim.base_url, clock=clock) as plain,
        pytest.raises(WeChatRefused),
    ):
        plain.call(sdk_v2.Reverse(appid=appid(sim), out_trade_no="POS0000013"))


def codepay(sim: Simulator, out_trade_no: str, code: str) -> sdk_v3.CodepayOrder:
    return sdk_v3.CodepayOrder(appid=appid(sim), description="门店-收银台", out_trade_no=out_trade_no, amount_fen=700,
                               auth_code=code, store_info=sdk_v3.StoreInfo(id="0001"))  # fmt: skip


def test_v3_codepay_and_reverse(sim: Simulator, client: Client, clock: ManualClock) -> None:
    paid = client.call(codepay(sim, "POS3000001", new_code(sim, confirm="none")))
    assert (paid.trade_state, paid.trade_type, paid.amount.total_fen) == ("SUCCESS", "MICROPAY", 700)
    with pytest.raises(PaymentPending) as pending:
        client.call(codepay(sim, "POS3000002", new_code(sim, confirm_s=5)))
    assert pending.value.code == "USERPAYING"
    clock.advance(5)
    assert client.call(sdk_v3.QueryOrder(out_trade_no="POS3000002")).trade_state == "SUCCESS"
    client.call(sdk_v3.ReverseOrder(appid=appid(sim), out_trade_no="POS3000002"))
    assert client.call(sdk_v3.QueryOrder(out_trade_no="POS3000002")).trade_state == "REVOKED"
    with pytest.raises(WeChatRefused) as expired:
        stale = new_code(sim)
        clock.advance(CODE_TTL_S)
        client.call(codepay(sim, "POS3000003", stale))
    assert (expired.value.code, expired.value.status) == ("AUTHCODEEXPIRE", 403)
    assert sim.ledger.balance(sim.mchid)[0] == 700


@pytest.mark.anyio
async def test_async_client_runs_the_same_operations(sim: Simulator, bundle_dir: Path, clock: ManualClock) -> None:
    credentials = MerchantCredentials.from_bundle(bundle_dir / "merchant")
    async with AsyncClient(credentials, transport=SimulatorTransport(sim),
                           secure_transport=SimulatorTransport(sim, mtls=True), base_url=sim.base_url,
                           secure_base_url=sim.https_base_url, clock=clock) as client:  # fmt: skip
        paid = await client.call(codepay(sim, "POS3000010", new_code(sim, confirm="none")))
        assert paid.trade_state == "SUCCESS"
        with pytest.raises(PaymentPending):
            await client.call(micropay(sim, "POS3000011", new_code(sim, outcome="wait")))
        await client.call(sdk_v2.Reverse(appid=appid(sim), out_trade_no="POS3000011"))
    assert state(sim, "POS3000011") == "REVOKED"
