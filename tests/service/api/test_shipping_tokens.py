"""The shared access token under WeChat's rules, and the XML message push: a token revoked elsewhere (another
process forced a refresh) is replaced and the upload still lands; a settlement message pushed as XML confirms
receipt like the JSON one."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from weipay.service.db.tables import wxa_access_tokens

from ..web_harness import MCHID, SERVICE_URL, Harness
from .test_shipping import EXPRESS, _paid_order, _platform, _ship

TOKEN = "shipping-xml-token"


def _stored_token(harness: Harness) -> str:
    with harness.app.state.services.uow.read() as tx:
        return str(tx.connection.execute(sa.select(wxa_access_tokens.c.value)).scalar_one())


def test_a_token_revoked_elsewhere_is_replaced(harness: Harness) -> None:
    first, second = _paid_order(harness), _paid_order(harness)
    _ship(harness, first["id"])
    harness.run_jobs()
    stale = _stored_token(harness)
    forced = harness.wechat.post("/cgi-bin/stable_token", json={
        "grant_type": "client_credential", "appid": harness.appid(), "force_refresh": True,
        "secret": harness.account["app_secrets"]["miniprogram"],
    }).json()  # another process (or the mini-program admin) revoked every earlier token
    assert forced["access_token"] != stale
    _ship(harness, second["id"], {**EXPRESS, "shipping_list": [{**EXPRESS["shipping_list"][0], "tracking_no": "SF2"}]})
    harness.run_jobs()
    assert harness.order(second["id"])["shipping"]["state"] == "uploaded"
    assert _stored_token(harness) == forced["access_token"]  # refreshed once, shared again


def test_an_xml_settlement_message_confirms_receipt(harness_factory: Any) -> None:
    harness: Harness = harness_factory(shipping={"message_token": TOKEN, "auto_upload_virtual": True})
    harness.wechat.put("/simulator/wxa", json={"message_url": f"{SERVICE_URL}/notify/wxa/{MCHID}",
                                               "message_token": TOKEN, "message_format": "xml"}).raise_for_status()
    order = _paid_order(harness)
    harness.run_jobs()
    harness.run_jobs()
    out_trade_no = harness.order(order["id"])["attempts"][0]["out_trade_no"]
    assert _platform(harness)[out_trade_no]["order_state"] == 2
    harness.wechat.post("/simulator/wxa/confirm-receipt", json={"out_trade_no": out_trade_no}).raise_for_status()
    harness.deliver()
    harness.run_jobs()
    assert harness.order(order["id"])["shipping"]["state"] == "confirmed"
