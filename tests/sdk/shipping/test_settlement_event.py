"""The platform's trade_manage_order_settlement message, in XML and in JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from weipay.sdk.errors import ProtocolError
from weipay.sdk.shipping import SETTLEMENT_EVENT, SettlementEvent, parse_settlement_event

SETTLED_XML = b"""<xml>
  <ToUserName><![CDATA[gh_3b6a2a7c1f2d]]></ToUserName>
  <FromUserName><![CDATA[o7esq5OI1U5oY4Qb8bKmpWGVlT64]]></FromUserName>
  <CreateTime>1691568000</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[trade_manage_order_settlement]]></Event>
  <transaction_id><![CDATA[4200001858202306300646157659]]></transaction_id>
  <merchant_id><![CDATA[1230000109]]></merchant_id>
  <sub_merchant_id><![CDATA[]]></sub_merchant_id>
  <merchant_trade_no><![CDATA[SHOP-20240501-0001]]></merchant_trade_no>
  <pay_time>1691565022</pay_time>
  <shipped_time>1691565100</shipped_time>
  <estimated_settlement_time>1692169900</estimated_settlement_time>
  <confirm_receive_method>2</confirm_receive_method>
  <confirm_receive_time>1691567000</confirm_receive_time>
  <settlement_time>1691568000</settlement_time>
</xml>"""

SETTLED_JSON = {
    "ToUserName": "gh_3b6a2a7c1f2d",
    "FromUserName": "o7esq5OI1U5oY4Qb8bKmpWGVlT64",
    "CreateTime": 1691568000,
    "MsgType": "event",
    "Event": "trade_manage_order_settlement",
    "transaction_id": "4200001858202306300646157659",
    "merchant_id": "1230000109",
    "sub_merchant_id": "",
    "merchant_trade_no": "SHOP-20240501-0001",
    "pay_time": 1691565022,
    "shipped_time": 1691565100,
    "estimated_settlement_time": 1692169900,
    "confirm_receive_method": 2,
    "confirm_receive_time": 1691567000,
    "settlement_time": 1691568000,
}


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_xml_and_json_read_the_same():
    from_xml = parse_settlement_event(SETTLED_XML)
    from_json = parse_settlement_event(json.dumps(SETTLED_JSON).encode())
    assert (
        from_xml
        == from_json
        == SettlementEvent(
            to_user_name="gh_3b6a2a7c1f2d",
            from_user_name="o7esq5OI1U5oY4Qb8bKmpWGVlT64",
            create_time=at(1691568000),
            transaction_id="4200001858202306300646157659",
            merchant_id="1230000109",
            merchant_trade_no="SHOP-20240501-0001",
            sub_merchant_id=None,
            pay_time=at(1691565022),
            shipped_time=at(1691565100),
            estimated_settlement_time=at(1692169900),
            confirm_receive_method=2,
            confirm_receive_time=at(1691567000),
            settlement_time=at(1691568000),
        )
    )
    assert from_xml.settled and from_json.raw["Event"] == SETTLEMENT_EVENT


def test_the_shipped_message_is_not_yet_settled():
    shipped = {key: value for key, value in SETTLED_JSON.items() if "confirm" not in key and key != "settlement_time"}
    event = parse_settlement_event(json.dumps(shipped))
    assert not event.settled and event.confirm_receive_method is None
    assert event.estimated_settlement_time == at(1692169900)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (json.dumps({**SETTLED_JSON, "Event": "trade_manage_remind_shipping"}).encode(), "not a trade_manage"),
        (json.dumps({**SETTLED_JSON, "transaction_id": ""}).encode(), "transaction_id"),
        (json.dumps({**SETTLED_JSON, "pay_time": "soon"}).encode(), "pay_time is not a whole number"),
        (json.dumps({**SETTLED_JSON, "pay_time": True}).encode(), "pay_time is not a whole number"),
        (b"<xml><ToUserName>gh_1</ToUserName><Encrypt><![CDATA[abc]]></Encrypt></xml>", "encrypted"),
        (b'<!DOCTYPE x [<!ENTITY e "e">]><xml><Event>&e;</Event></xml>', "DOCTYPE"),
        (b"<root><Event>x</Event></root>", "root"),
        (b"[1, 2]", "neither XML nor JSON"),
        (b"{not json", "not valid JSON"),
        (b"<xml>" + b" " * 70000 + b"</xml>", "too large"),
    ],
)
def test_what_is_not_a_settlement_message(body, message):
    with pytest.raises(ProtocolError, match=message):
        parse_settlement_event(body)
