"""WeChat's gray release from platform certificates to the WeChat Pay public key, as a merchant lives it.

During the switch WeChat signs a certificate-mode merchant's notifications either way (``Wechatpay-Serial`` is a
certificate serial or ``PUB_KEY_ID_…``). A merchant that trusts both (``wechatpay_public_key_path`` +
``wechatpay_public_key_id`` + ``platform_certificates = true``) applies every one exactly once; one that trusts
only its certificates refuses the public-key half, and WeChat retries them in vain.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from weipay.service.settings import MerchantSettings

from ..web_harness import Harness


def _both(certificate_bundle_template: Path) -> dict[str, Any]:
    merchant = certificate_bundle_template / "merchant"
    account = json.loads((merchant / "account.json").read_text())
    return {
        "wechatpay_public_key_path": str(merchant / "wechatpay_public_key.pem"),
        "wechatpay_public_key_id": account["wechatpay_public_key_id"],
        "platform_certificates": True,
    }


def _paid_orders(harness: Harness, count: int) -> list[str]:
    plan = {"notify_public_key_rate": 0.5, "notify_duplicate_rate": 0.5, "seed": 11}
    assert harness.wechat.put("/simulator/faults", json=plan).status_code == 200
    ids = []
    for i in range(count):
        order = harness.create_order(100 + i)
        payment = harness.api.post(
            f"/v1/orders/{order['id']}/payments", headers=harness.merchant, json={"channel": "native", "api": "v3"}
        ).json()
        harness.pay(payment)
        ids.append(str(order["id"]))
    harness.deliver()  # first deliveries only: WeChat's retries would re-roll the signature and hide a refusal
    return ids


def test_trusting_both_applies_every_notification_once(harness_factory: Any, certificate_bundle_template: Path) -> None:
    harness: Harness = harness_factory(verification="platform_certificate", **_both(certificate_bundle_template))
    ids = _paid_orders(harness, 12)
    for order_id in ids:
        order = harness.order(order_id)
        assert (order["status"], order["paid_amount"]) == ("paid", order["amount"]), order
        assert len([a for a in order["attempts"] if a["status"] == "succeeded"]) == 1


def test_trusting_only_certificates_refuses_public_key_signatures(harness_factory: Any) -> None:
    harness: Harness = harness_factory(verification="platform_certificate")
    ids = _paid_orders(harness, 12)
    unpaid = [i for i in ids if harness.order(i)["status"] != "paid"]
    assert 2 <= len(unpaid) <= 10  # about half the first deliveries were signed with a key it does not trust


def test_public_key_settings_go_together(certificate_bundle_template: Path) -> None:
    both = _both(certificate_bundle_template)
    with pytest.raises(ValueError, match="go together"):
        MerchantSettings(mchid="1900000109", bundle_dir=certificate_bundle_template / "merchant",
                         wechatpay_public_key_path=both["wechatpay_public_key_path"])  # fmt: skip
    settings = MerchantSettings(mchid="1900000109", bundle_dir=certificate_bundle_template / "merchant", **both)
    credentials = settings.credentials()
    assert credentials.wechatpay_public_key_id == both["wechatpay_public_key_id"]
