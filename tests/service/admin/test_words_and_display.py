"""The console's catalogue (both languages complete, every key a template names exists) and its display rules:
yuan from integer fen and back, local times in a merchant's zone."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weipay.service.admin.catalogue import CATALOGUE
from weipay.service.admin.display import Clocks, event_details, parse_local, parse_yuan, yuan
from weipay.service.admin.i18n import Translator, language_of
from weipay.service.domain import AttemptStatus, Channel, InvalidInput, OrderStatus, RefundStatus
from weipay.service.usecases import TIMELINE_TYPES
from weipay.service.usecases.webhook_store import DELIVERED, FAILED, PENDING, SKIPPED

TEMPLATES = Path(__file__).parents[3] / "src" / "weipay" / "service" / "admin" / "templates"


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    zh, en = CATALOGUE["zh"], CATALOGUE["en"]
    assert zh.keys() == en.keys()
    for key in zh:
        assert set(re.findall(r"{(\w+)}", zh[key])) == set(re.findall(r"{(\w+)}", en[key])), key


def test_every_key_a_template_names_is_in_the_catalogue() -> None:
    named: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        named |= set(re.findall(r"""\bt\(\s*'([a-z_.]+[a-z_])'""", text))  # ``t('error.' ~ code)`` is a prefix
        named |= set(re.findall(r"""\('/[a-z]*', '(nav\.[a-z]+)'\)""", text))  # the header's links
    assert len(named) > 100
    assert sorted(named - CATALOGUE["zh"].keys()) == []


@pytest.mark.parametrize(("group", "values"), [
    ("order_status", OrderStatus), ("attempt_status", AttemptStatus), ("refund_status", RefundStatus),
    ("channel", Channel), ("event", TIMELINE_TYPES), ("webhook_status", (PENDING, DELIVERED, FAILED, SKIPPED)),
])  # fmt: skip
def test_every_state_and_event_has_words(group: str, values: object) -> None:
    for value in values:  # type: ignore[attr-defined]
        assert f"{group}.{value}" in CATALOGUE["zh"], value


def test_the_translator() -> None:
    zh = Translator(language_of(None))
    assert zh("order.title", id="ord_1") == "订单 ord_1" and zh.value("order_status", "paid") == "已支付"
    assert zh.value("order_status", "something_new") == "something_new" and zh.other == "en"
    assert Translator(language_of("en"))("nav.orders") == "Orders" and language_of("fr") == "zh"


@pytest.mark.parametrize(("fen", "shown"), [(1234, "¥12.34"), (5, "¥0.05"), (100, "¥1.00"),
                                            (123456789, "¥1,234,567.89"), (-5, "-¥0.05"), (None, "")])  # fmt: skip
def test_yuan(fen: int | None, shown: str) -> None:
    assert yuan(fen) == shown


@given(st.integers(min_value=1, max_value=10**11 - 1))
def test_yuan_round_trips_through_the_refund_form(fen: int) -> None:
    assert parse_yuan(yuan(fen).replace(",", "")) == fen


@pytest.mark.parametrize("text", ["", "0", "0.00", "-1", "1.234", "1e3", "1,000", "12.", ".5", "abc", "1 2", "٣"])
def test_parse_yuan_refuses_anything_but_a_plain_amount(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_yuan(text)
    assert refused.value.code == "invalid_amount"


def test_parse_yuan_accepts_what_operators_type() -> None:
    assert [parse_yuan(text) for text in ("12.34", "12.3", "12", " 7.05 ", "¥0.01", "１２．３４")] == [
        1234, 1230, 1200, 705, 1, 1234]


def test_times_in_each_merchants_zone() -> None:
    clocks = Clocks({"1": "America/New_York"})
    moment = 1795396740.0  # 2026-11-23T01:19:00Z
    assert clocks.at(moment) == "2026-11-23 09:19:00"  # Asia/Shanghai by default
    assert clocks.at(moment, "1") == "2026-11-22 20:19:00"
    assert clocks.at(moment, "unknown") == "2026-11-23 09:19:00" and clocks.at(None) == ""
    assert clocks.input(moment, "1") == "2026-11-22T20:19"
    assert parse_local("2026-11-22T20:19", ZoneInfo("America/New_York")) == moment
    assert parse_local("", ZoneInfo("Asia/Shanghai")) is None
    with pytest.raises(InvalidInput):
        parse_local("yesterday", ZoneInfo("Asia/Shanghai"))


def test_event_details_show_amounts_in_yuan_and_flatten_facts() -> None:
    shown = event_details({"amount": 1234, "currency": "CNY", "reason": None, "attempts": 2,
                           "facts": {"amount_fen": 1234, "bank_type": "OTHERS", "payer_openid": None,
                                     "success_time": 1795396740.0}}, Clocks({}).at)  # fmt: skip
    assert shown == [("amount", "¥12.34"), ("currency", "CNY"), ("attempts", "2"), ("facts.amount_fen", "¥12.34"),
                     ("facts.bank_type", "OTHERS"), ("facts.success_time", "2026-11-23 09:19:00")]
