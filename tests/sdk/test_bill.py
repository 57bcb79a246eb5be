"""The one bill parser behind v2 ``downloadbill`` and v3 trade / fund-flow bills.

Shared rules (column kinds, exact fen, fees in Decimal yuan, gzip cap), both public doors agreeing on
one file, and round trips: bills the simulator builds parse to the amounts the simulator booked.
"""

from __future__ import annotations

import datetime as dt
import gzip
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from weipay.sdk import Client, MerchantCredentials, v2, v3
from weipay.sdk._bill import (
    MAX_BILL_BYTES,
    BillFile,
    inflate,
    is_count_column,
    is_fee_column,
    is_money_column,
    parse_bill,
    parse_yuan,
    yuan_to_fen,
)
from weipay.sdk.errors import ProtocolError
from weipay.simulator import ManualClock, Simulator, SimulatorTransport, init_bundle
from weipay.simulator.bill_files import fee_fen, trade_bill, yuan

V2_FIXTURE = Path(__file__).parent / "v2" / "fixtures" / "bill_all.csv"
BEIJING = dt.timezone(dt.timedelta(hours=8))
NOTIFY_URL = "https://merchant.example.com/notify"
_V2_NOTIFY_OK = b"<xml><return_code>SUCCESS</return_code></xml>"

HEADER = "交易时间,商户订单号,订单金额,手续费\n"
SUMMARY = "总交易单数,订单总金额,手续费总金额\n`1.0,`1.00,`0.01\n"
ROW = "`2026-01-04 10:00:00,`A1,`1.00,`0.00600\n"


# ---- the shared rules ----


def test_column_kinds_are_read_from_the_header_name() -> None:
    assert is_money_column("订单金额") and is_money_column("收支金额（元）") and is_money_column("账户结余(元)")
    assert is_fee_column("手续费") and is_fee_column("手续费总金额") and not is_money_column("手续费总金额")
    assert is_count_column("总交易单数") and is_count_column("收入笔数") and is_count_column("资金流水总笔数")
    assert not any(kind("费率") for kind in (is_money_column, is_fee_column, is_count_column))


def test_each_kind_is_read_and_the_text_is_kept() -> None:
    bill = parse_bill((HEADER + ROW + SUMMARY).encode())
    row = bill.rows[0]
    assert (row.fen("订单金额"), row.fee_yuan(), row["手续费"]) == (100, Decimal("0.006"), "0.00600")
    assert bill.summary.count("总交易单数") == 1 and bill.summary.fee_yuan("手续费总金额") == Decimal("0.01")
    assert bill.summary_header == ("总交易单数", "订单总金额", "手续费总金额")
    for missing in (lambda: row.fen("手续费"), lambda: row.count("订单金额"), lambda: row.fee_yuan("订单金额")):
        with pytest.raises(ProtocolError):
            missing()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (HEADER + ROW.replace("`0.00600", "`0.0060001") + SUMMARY, "手续费"),  # seven decimals
        (HEADER + ROW.replace("`0.00600", "`abc") + SUMMARY, "手续费"),
        (HEADER + ROW + SUMMARY.replace("`1.0,", "`1.5,"), "总交易单数"),
        (HEADER + ROW + SUMMARY.replace("`1.0,", "`-1,"), "总交易单数"),
        (HEADER + ROW + "总交易单数,订单总金额,手续费总金额\n1.0,1.00,0.01\n", "summary row"),
        (HEADER + ROW + ROW.replace("`", "") + SUMMARY, "line 3"),
    ],
    ids=["fee-too-precise", "fee-junk", "fractional-count", "negative-count", "summary-unquoted", "row-unquoted"],
)
def test_layout_and_kind_errors_name_the_place(text: str, fragment: str) -> None:
    with pytest.raises(ProtocolError, match=fragment):
        parse_bill(text.encode())


@given(st.integers(min_value=-(10**13), max_value=10**13))
def test_simulator_yuan_text_parses_back_to_the_same_fen(amount_fen: int) -> None:
    assert yuan_to_fen(yuan(amount_fen)) == amount_fen
    assert parse_yuan(yuan(amount_fen)) * 100 == amount_fen


@pytest.mark.parametrize("text", ["0.010", "0.0100", "0.010000"])
def test_trailing_zeros_are_exact_and_accepted(text: str) -> None:
    assert yuan_to_fen(text) == 1


def test_inflate_caps_output_and_refuses_truncation() -> None:
    data = (HEADER + ROW * 50 + SUMMARY).encode()
    packed = gzip.compress(data)
    assert inflate(packed) == data
    with pytest.raises(ProtocolError, match="larger than 100 bytes"):
        inflate(packed, max_bytes=100)
    with pytest.raises(ProtocolError, match="larger than 100 bytes"):
        parse_bill(data, max_bytes=100)  # plain text is bounded too
    with pytest.raises(ProtocolError, match="truncated"):
        inflate(packed[:-6])
    assert MAX_BILL_BYTES == v2.bill.MAX_BILL_BYTES


def test_gzip_str_and_bytes_inputs_agree_and_raw_is_uncompressed() -> None:
    data = (HEADER + ROW + SUMMARY).encode()
    plain, packed, text = parse_bill(data), parse_bill(gzip.compress(data)), parse_bill(data.decode())
    assert plain == packed == text
    assert packed.raw == data
    with pytest.raises(ProtocolError):
        parse_bill("\ud800" + HEADER + ROW + SUMMARY)  # a lone surrogate is not text a bill can hold


# ---- both public doors are this parser ----


def test_v3_names_are_the_shared_parser() -> None:
    assert v3.parse_bill is parse_bill and v3.yuan_to_fen is yuan_to_fen and v3.BillFile is BillFile
    assert v2.yuan_to_fen is yuan_to_fen


def test_v2_and_v3_read_the_same_file_to_the_same_amounts() -> None:
    raw = V2_FIXTURE.read_bytes()
    typed, generic = v2.parse_bill(raw), v3.parse_bill(raw)
    assert typed.header == generic.header
    for typed_row, row in zip(typed.rows, generic.rows, strict=True):
        assert typed_row.settlement_total_fee_fen == row.fen("应结订单金额")
        assert typed_row.total_fee_fen == row.fen("订单金额")
        assert typed_row.refund_fee_fen == row.fen("退款金额")
        assert typed_row.fee_yuan == row.fee_yuan()
        assert typed_row.columns == row.fields
    assert typed.summary.trade_count == generic.summary.count("总交易单数")
    assert typed.summary.fee_fen == generic.summary.fee_yuan("手续费总金额") * 100


def test_v2_requires_a_trade_bill_the_generic_parser_does_not() -> None:
    fund_flow = "记账时间,收支金额（元）\n`2026-01-04 10:00:00,`1.00\n资金流水总笔数,收入金额\n`1,`1.00\n"
    assert v3.parse_bill(fund_flow.encode()).rows[0].fen("收支金额（元）") == 100
    with pytest.raises(ProtocolError, match="trade"):
        v2.parse_bill(fund_flow)


# ---- round trips: what the simulator books, the SDK reads back ----


@pytest.fixture
def simulated(tmp_path: Path) -> Iterator[tuple[Simulator, Client, ManualClock]]:
    init_bundle(tmp_path, mchid="1900000109")
    # Yesterday noon in Beijing: inside the bill window, and no midnight between the payments and refunds.
    noon = dt.datetime.combine(dt.datetime.now(BEIJING).date() - dt.timedelta(days=1), dt.time(12), BEIJING)
    clock = ManualClock(noon.timestamp())
    received = httpx.MockTransport(lambda request: httpx.Response(200, content=_V2_NOTIFY_OK))
    sim = Simulator(tmp_path, clock=clock, notify_transport=received)
    credentials = MerchantCredentials.from_bundle(tmp_path / "merchant")
    transport = SimulatorTransport(sim)
    with Client(credentials, transport=transport, base_url=sim.base_url, clock=clock) as client:
        yield sim, client, clock
    sim.close()


def _book_day(sim: Simulator, client: Client, clock: ManualClock) -> dict[str, int]:
    """Pay three orders (v3 and v2) and refund part of one; returns amount_fen by out_trade_no."""
    amounts = {"RT-V3-1": 1234, "RT-V3-2": 1, "RTV20001": 99999}
    appid = client.credentials.appid("app")
    for out_trade_no in ("RT-V3-1", "RT-V3-2"):
        client.call(v3.CreateOrder(channel="native", appid=appid, description="往返测试", out_trade_no=out_trade_no,
                                   amount_fen=amounts[out_trade_no], notify_url=NOTIFY_URL))
    client.call(v2.UnifiedOrder(trade_type="NATIVE", appid=appid, body="往返测试", out_trade_no="RTV20001",
                                total_fee_fen=amounts["RTV20001"], spbill_create_ip="127.0.0.1",
                                notify_url=NOTIFY_URL, product_id="P1"))
    for out_trade_no in amounts:
        order = sim.ledger.order(sim.mchid, out_trade_no)
        assert order is not None
        sim.pay(order)
    client.call(v3.CreateRefund(out_refund_no="RT-R-1", refund_fen=234, total_fen=1234, out_trade_no="RT-V3-1"))
    clock.advance(5)
    sim.tick()
    return amounts


def _check_trade_amounts(rows: list[v3.BillRow] | tuple[v3.BillRow, ...], amounts: dict[str, int]) -> None:
    payments = {row.out_trade_no: row for row in rows if row.trade_state == "SUCCESS"}
    assert {name: row.fen("订单金额") for name, row in payments.items()} == amounts
    for name, row in payments.items():
        assert row.fen("应结订单金额") == amounts[name]
        assert row.fee_yuan() * 100 == fee_fen(amounts[name])
    (refund,) = (row for row in rows if row.trade_state == "REFUND")
    assert (refund.out_trade_no, refund.fen("退款金额"), refund.fen("申请退款金额")) == ("RT-V3-1", 234, 234)
    assert refund.fee_yuan() * 100 == -fee_fen(234)


@pytest.mark.parametrize("use_gzip", [False, True])
def test_v3_trade_bill_round_trip(simulated: tuple[Simulator, Client, ManualClock], use_gzip: bool) -> None:
    sim, client, clock = simulated
    amounts = _book_day(sim, client, clock)
    day = dt.datetime.fromtimestamp(clock(), BEIJING).date()
    location = client.call(v3.TradeBill(bill_date=day, gzip=use_gzip))
    bill = client.call(v3.DownloadBill(location, gzip=use_gzip))
    _check_trade_amounts(bill.rows, amounts)
    summary = bill.summary
    assert summary.count("总交易单数") == 4
    assert summary.fen("订单总金额") == summary.fen("应结订单总金额") == sum(amounts.values())
    assert summary.fen("退款总金额") == 234
    fees_fen = sum(fee_fen(amount) for amount in amounts.values()) - fee_fen(234)
    assert summary.fee_yuan("手续费总金额") * 100 == fees_fen == sum(row.fee_yuan() * 100 for row in bill.rows)


def test_v2_downloadbill_round_trip(simulated: tuple[Simulator, Client, ManualClock]) -> None:
    sim, client, clock = simulated
    amounts = _book_day(sim, client, clock)
    day = dt.datetime.fromtimestamp(clock(), BEIJING).date()
    appid = client.credentials.appid("app")
    bill = client.call(v2.DownloadBill(appid=appid, bill_date=day, gzip=True))
    payments = {row.out_trade_no: row.total_fee_fen for row in bill.rows if row.trade_state == "SUCCESS"}
    assert payments == amounts
    (refund,) = (row for row in bill.rows if row.trade_state == "REFUND")
    assert (refund.out_refund_no, refund.refund_fee_fen, refund.refund_status) == ("RT-R-1", 234, "SUCCESS")
    assert bill.summary.trade_count == 4 and bill.summary.refund_fee_fen == 234
    assert bill.summary.total_fee_fen == bill.summary.settlement_total_fee_fen == sum(amounts.values())
    assert bill.summary.fee_fen == sum(fee_fen(amount) for amount in amounts.values()) - fee_fen(234)
    # The file the simulator serves, read through the generic door, gives the same amounts.
    _check_trade_amounts(v3.parse_bill(trade_bill(sim, day.strftime("%Y%m%d"))).rows, amounts)


def test_v3_fund_flow_bill_round_trip(simulated: tuple[Simulator, Client, ManualClock]) -> None:
    sim, client, clock = simulated
    amounts = _book_day(sim, client, clock)
    day = dt.datetime.fromtimestamp(clock(), BEIJING).date()
    bill = client.call(v3.DownloadBill(client.call(v3.FundFlowBill(bill_date=day))))
    income = [row.fen("收支金额（元）") for row in bill.rows if row.get("收支类型") == "收入"]
    expense = [row.fen("收支金额（元）") for row in bill.rows if row.get("收支类型") == "支出"]
    fees = [fee_fen(amount) for amount in amounts.values()]
    assert sorted(income) == sorted(amounts.values())
    assert sorted(expense) == sorted([*fees, 234])
    assert bill.rows[-1].fen("账户结余（元）") == sum(income) - sum(expense)
    summary = bill.summary
    assert summary.count("资金流水总笔数") == len(bill.rows) == 7
    assert (summary.count("收入笔数"), summary.fen("收入金额")) == (3, sum(income))
    assert (summary.count("支出笔数"), summary.fen("支出金额")) == (4, sum(expense))


@pytest.mark.slow
def test_every_amount_up_to_ten_million_fen_round_trips_exactly() -> None:
    """RELIABILITY T22: 0 mismatches for every value 0…10⁷ fen through fen → yuan text → fen."""
    mismatches = [amount_fen for amount_fen in range(10**7 + 1) if yuan_to_fen(yuan(amount_fen)) != amount_fen]
    assert mismatches == []
