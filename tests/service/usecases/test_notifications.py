"""Notifications apply exactly once under concurrent duplicates; mismatches change nothing."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from weipay.sdk.crypto import aes_gcm_decrypt, aes_gcm_encrypt
from weipay.sdk.v2 import from_xml, sign, to_xml
from weipay.service.domain import AttemptStatus, OrderStatus
from weipay.service.usecases import CreateOrder, create_order, order_details, order_events, start_payment
from weipay.simulator.wechat_keys import notification_uses_public_key, signed_headers

DUPLICATES = 50


def _paid_notification(core, api, channel="native"):
    order = create_order(core.uow, core.merchant, CreateOrder(f"m-{api}", 3000, "tea"), clock=core.clock)
    start = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, channel, api)
    core.pay(start.attempt.out_trade_no, deliver=False)
    captured = core.capture_notifications()
    assert len(captured) == 1
    return order, start.attempt, captured[0]


def _replay(core, request, body=None, headers=None):
    return core.notify(
        httpx.Request("POST", request.url, headers=headers or dict(request.headers), content=body or request.content)
    )


def _webhook_jobs(core, order_id):
    with core.uow.read() as tx:
        return [j for j in tx.jobs.list(order_id=order_id) if j.kind == "deliver_webhook"]


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_concurrent_duplicate_notifications_apply_once(core, api):
    order, _attempt, request = _paid_notification(core, api)
    with ThreadPoolExecutor(max_workers=DUPLICATES) as pool:
        answers = list(pool.map(lambda _: _replay(core, request), range(DUPLICATES)))
    assert all(answer.status_code in (200, 204) for answer in answers)
    details = order_details(core.uow, order.id)
    assert details.order.status == OrderStatus.PAID and details.order.paid_fen == 3000
    assert details.attempts[0].status == AttemptStatus.SUCCEEDED
    assert len(_webhook_jobs(core, order.id)) == 1  # exactly one outbox row for the one transition
    events = order_events(core.uow, order.id)
    assert len(events.notifications) == 1 and events.notifications[0].outcome == "applied"
    assert len([c for c in events.calls if c.direction == "inbound"]) == 1
    assert not events.anomalies


def _tampered_v3(core, request, amount_fen):
    envelope = json.loads(request.content)
    resource = envelope["resource"]
    key = core.sim.account["apiv3_key"].encode()
    plain = json.loads(aes_gcm_decrypt(key, resource["nonce"], resource["associated_data"], resource["ciphertext"]))
    plain["amount"]["total"] = amount_fen
    plain["amount"]["payer_total"] = amount_fen
    resource["ciphertext"] = aes_gcm_encrypt(
        key, resource["nonce"], resource["associated_data"], json.dumps(plain).encode()
    )
    envelope["id"] = envelope["id"][:-4] + "beef"
    body = json.dumps(envelope).encode()
    headers = {"content-type": "application/json"}
    headers.update(signed_headers(core.sim, body, public_key=notification_uses_public_key(core.sim)))
    return body, headers


def _tampered_v2(core, request, amount_fen):
    fields = from_xml(request.content)
    fields["total_fee"] = str(amount_fen)
    fields["cash_fee"] = str(amount_fen)
    fields.pop("sign")
    fields["sign"] = sign(fields, core.sim.account["apiv2_key"], fields.get("sign_type", "MD5"))
    return to_xml(fields), {"content-type": "text/xml"}


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_validly_signed_notification_with_a_tampered_amount_changes_nothing(core, api):
    order, _attempt, request = _paid_notification(core, api)
    body, headers = (_tampered_v3 if api == "v3" else _tampered_v2)(core, request, 1)
    answer = _replay(core, request, body=body, headers=headers)
    assert answer.status_code in (200, 204)  # stored durably as an anomaly: WeChat need not retry it
    details = order_details(core.uow, order.id)
    assert details.order.status == OrderStatus.PENDING and details.order.paid_fen == 0
    assert details.attempts[0].status == AttemptStatus.PENDING
    anomalies = order_events(core.uow, order.id).anomalies
    assert [a.kind for a in anomalies] == ["notification_mismatch"]
    assert "amount" in anomalies[0].detail
    assert not _webhook_jobs(core, order.id)
    # The genuine notification still applies afterwards.
    _replay(core, request)
    assert order_details(core.uow, order.id).order.status == OrderStatus.PAID


def test_forged_signature_is_refused_and_recorded(core):
    order, _attempt, request = _paid_notification(core, "v3")
    headers = dict(request.headers)
    signature = base64.b64decode(headers["wechatpay-signature"])
    headers["wechatpay-signature"] = base64.b64encode(bytes([signature[0] ^ 1]) + signature[1:]).decode()
    answer = _replay(core, request, headers=headers)
    assert answer.status_code == 401
    assert order_details(core.uow, order.id).order.status == OrderStatus.PENDING
    with core.uow.read() as tx:
        assert [a.kind for a in tx.anomalies.list()] == ["unverifiable_notification"]


def test_notification_for_an_unknown_out_trade_no_is_an_anomaly(core):
    order, _attempt, request = _paid_notification(core, "v2")
    fields = from_xml(request.content)
    fields["out_trade_no"] = "unknown-order-0001"
    fields.pop("sign")
    fields["sign"] = sign(fields, core.sim.account["apiv2_key"], fields.get("sign_type", "MD5"))
    assert _replay(core, request, body=to_xml(fields)).status_code == 200
    with core.uow.read() as tx:
        assert [a.kind for a in tx.anomalies.list()] == ["notification_mismatch"]
    assert order_details(core.uow, order.id).order.status == OrderStatus.PENDING

