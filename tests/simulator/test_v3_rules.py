"""API v3 rules: request signatures, WeChat's field validation and error codes, certificates, bills."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from weipay.sdk.clock import new_nonce
from weipay.sdk.crypto import aes_gcm_decrypt, load_certificate
from weipay.sdk.v3.signing import authorization
from weipay.sdk.v3.wechat_side import MESSAGE_BAD_SIGNATURE, MESSAGE_STALE_TIMESTAMP
from weipay.simulator.clock import ManualClock, beijing
from weipay.simulator.core import Simulator

from .conftest import BASE_URL, V3Merchant, copy_bundle
from .test_v3_lifecycle import order_body


def _pay(merchant: V3Merchant, sim: Simulator, out_trade_no: str, total: int = 100) -> dict[str, Any]:
    assert merchant.request("POST", "/v3/pay/transactions/native",
                            order_body(sim, "native", out_trade_no, total=total)).status_code == 200
    order = sim.ledger.order(sim.mchid, out_trade_no)
    assert order is not None
    return sim.pay(order)


# -- request signatures ----------------------------------------------------------------------------------------
def test_unsigned_and_malformed_authorization(merchant: V3Merchant, sim: Simulator) -> None:
    path = f"/v3/pay/transactions/out-trade-no/X-000001?mchid={sim.mchid}"
    for headers in ({}, {"Authorization": "Bearer x"}, {"Authorization": 'WECHATPAY2-SHA256-RSA2048 mchid="1"'}):
        response = merchant.client.get(BASE_URL + path, headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "SIGN_ERROR"
        assert "Authorization" in response.json()["message"]


def test_bad_signature_and_tampering(merchant: V3Merchant, sim: Simulator) -> None:
    body = json.dumps(order_body(sim, "native", "SIG-000001")).encode()
    private_key, serial = merchant.credentials.require_signer()
    header = authorization(mchid=sim.mchid, serial_no=serial, private_key=private_key, method="POST",
                           canonical_url="/v3/pay/transactions/native", body=body,
                           timestamp=str(int(merchant.clock())), nonce=new_nonce())
    tampered = body.replace(b'"total": 100', b'"total": 1')
    response = merchant.client.post(BASE_URL + "/v3/pay/transactions/native", content=tampered,
                                    headers={"Authorization": header, "Content-Type": "application/json"})
    assert response.status_code == 401
    error = response.json()
    assert error["code"] == "SIGN_ERROR" and error["message"] == MESSAGE_BAD_SIGNATURE
    assert error["detail"]["detail"]["issue"] == "sign not match"
    assert error["detail"]["sign_information"]["url"] == "/v3/pay/transactions/native"
    assert sim.ledger.order(sim.mchid, "SIG-000001") is None  # nothing was created
    # The same header on the original body is accepted: the signature covers the raw bytes, query included.
    ok = merchant.client.post(BASE_URL + "/v3/pay/transactions/native", content=body,
                              headers={"Authorization": header, "Content-Type": "application/json"})
    assert ok.status_code == 200


def test_timestamp_skew_over_five_minutes(merchant: V3Merchant, sim: Simulator, clock: ManualClock) -> None:
    path = f"/v3/pay/transactions/out-trade-no/SKEW-00001?mchid={sim.mchid}"
    assert merchant.request("GET", path, timestamp=clock() - 299).status_code == 404  # inside the window
    for offset in (-301, 301):
        response = merchant.request("GET", path, timestamp=clock() + offset)
        assert response.status_code == 401
        assert response.json() == {"code": "SIGN_ERROR", "message": MESSAGE_STALE_TIMESTAMP}


def test_wrong_serial_and_wrong_mchid(merchant: V3Merchant, sim: Simulator) -> None:
    private_key, _ = merchant.credentials.require_signer()
    path = f"/v3/pay/transactions/out-trade-no/SER-000001?mchid={sim.mchid}"
    for mchid, serial, status, code in ((sim.mchid, "ABCDEF", 401, "SIGN_ERROR"),
                                        ("1234567890", merchant.credentials.merchant_serial_no, 400, "MCH_NOT_EXISTS")):
        header = authorization(mchid=mchid, serial_no=serial or "", private_key=private_key, method="GET",
                               canonical_url=path, body=b"", timestamp=str(int(merchant.clock())), nonce=new_nonce())
        response = merchant.client.get(BASE_URL + path, headers={"Authorization": header})
        assert (response.status_code, response.json()["code"]) == (status, code)


def test_error_answers_are_signed_too(merchant: V3Merchant, sim: Simulator) -> None:
    response = merchant.request("GET", f"/v3/pay/transactions/out-trade-no/NOPE-00001?mchid={sim.mchid}")
    assert response.status_code == 404
    merchant.verify(response)


# -- field validation ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"out_trade_no": "abc"}, "/out_trade_no"),
        ({"out_trade_no": "has space 123"}, "/out_trade_no"),
        ({"out_trade_no": "x" * 33}, "/out_trade_no"),
        ({"amount": {"total": 0}}, "/amount/total"),
        ({"amount": {"total": -5}}, "/amount/total"),
        ({"amount": {"total": 1.5}}, "/amount/total"),
        ({"amount": {"total": True}}, "/amount/total"),
        ({"amount": {"total": 1, "currency": "USD"}}, "/amount/currency"),
        ({"description": ""}, "/description"),
        ({"description": "字" * 43}, "/description"),  # 129 bytes of UTF-8
        ({"description": "emoji 😀"}, "/description"),
        ({"notify_url": "ftp://example.com/notify"}, "/notify_url"),
        ({"notify_url": None}, "/notify_url"),
        ({"attach": "a" * 129}, "/attach"),
        ({"time_expire": "2020-01-01 00:00:00"}, "/time_expire"),
    ],
)
def test_param_errors(merchant: V3Merchant, sim: Simulator, change: dict[str, Any], field: str) -> None:
    body = {**order_body(sim, "native", "PARAM-0001"), **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = merchant.request("POST", "/v3/pay/transactions/native", body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "PARAM_ERROR"
    assert response.json()["detail"]["field"] == field


def test_channel_specific_requirements(merchant: V3Merchant, sim: Simulator) -> None:
    jsapi = order_body(sim, "jsapi", "CHAN-00001")
    del jsapi["payer"]
    assert merchant.request("POST", "/v3/pay/transactions/jsapi", jsapi).json()["detail"]["field"] == "/payer"
    h5 = order_body(sim, "h5", "CHAN-00002")
    h5["scene_info"]["h5_info"]["type"] = "Desktop"
    assert merchant.request("POST", "/v3/pay/transactions/h5", h5).json()["code"] == "PARAM_ERROR"
    foreign = {**order_body(sim, "native", "CHAN-00003"), "appid": "wx0000000000000000"}
    assert merchant.request("POST", "/v3/pay/transactions/native", foreign).json()["code"] == "APPID_MCHID_NOT_MATCH"
    not_json = merchant.client.post(BASE_URL + "/v3/pay/transactions/native", content=b"{")
    assert not_json.status_code == 401  # unsigned: authentication comes first
    unknown = merchant.request("GET", "/v3/pay/nothing-here")
    assert unknown.status_code == 404 and unknown.json()["code"] == "NOT_FOUND"
    query_without_mchid = merchant.request("GET", "/v3/pay/transactions/out-trade-no/CHAN-00003")
    assert query_without_mchid.status_code == 400 and query_without_mchid.json()["code"] == "PARAM_ERROR"


def test_time_expire_is_kept_within_wechat_bounds(merchant: V3Merchant, sim: Simulator, clock: ManualClock) -> None:
    soon = beijing(clock() + 10).isoformat(timespec="seconds")
    body = order_body(sim, "native", "EXP-000001", time_expire=soon)
    assert merchant.request("POST", "/v3/pay/transactions/native", body).status_code == 200
    order = sim.ledger.order(sim.mchid, "EXP-000001")
    assert order is not None and order.time_expire == pytest.approx(clock() + 60)
    clock.advance(61)
    assert sim.tick()["expired"] == 1
    queried = merchant.request("GET", f"/v3/pay/transactions/out-trade-no/EXP-000001?mchid={sim.mchid}").json()
    assert queried["trade_state"] == "CLOSED"


def test_refund_rules(merchant: V3Merchant, sim: Simulator) -> None:
    _pay(merchant, sim, "REF-000001", total=500)
    base = {"out_trade_no": "REF-000001", "out_refund_no": "RF-1", "amount": {"refund": 100, "total": 500,
                                                                             "currency": "CNY"}}
    assert merchant.request("POST", "/v3/refund/domestic/refunds", base).status_code == 200
    differ = {**base, "amount": {"refund": 200, "total": 500, "currency": "CNY"}}
    assert merchant.request("POST", "/v3/refund/domestic/refunds", differ).json()["code"] == "INVALID_REQUEST"
    wrong_total = {**base, "out_refund_no": "RF-2", "amount": {"refund": 100, "total": 400, "currency": "CNY"}}
    assert merchant.request("POST", "/v3/refund/domestic/refunds", wrong_total).json()["code"] == "INVALID_REQUEST"
    neither = {"out_refund_no": "RF-3", "amount": base["amount"]}
    assert merchant.request("POST", "/v3/refund/domestic/refunds", neither).json()["code"] == "PARAM_ERROR"
    # Balances: a refund from unsettled funds beyond the unsettled balance is NOT_ENOUGH; AVAILABLE funds work.
    sim.ledger.set_balance(sim.mchid, unsettled_fen=50, available_fen=1000)
    short = {**base, "out_refund_no": "RF-4"}
    response = merchant.request("POST", "/v3/refund/domestic/refunds", short)
    assert (response.status_code, response.json()["code"]) == (403, "NOT_ENOUGH")
    from_available = {**short, "funds_account": "AVAILABLE"}
    accepted = merchant.request("POST", "/v3/refund/domestic/refunds", from_available)
    assert accepted.status_code == 200 and accepted.json()["funds_account"] == "AVAILABLE"
    assert sim.ledger.balance(sim.mchid) == (50, 900)


def test_strict_mode_rules(merchant: V3Merchant, sim: Simulator, clock: ManualClock) -> None:
    sim.strict = True
    http_url = order_body(sim, "native", "STRICT-001")
    assert merchant.request("POST", "/v3/pay/transactions/native", http_url).json()["detail"]["field"] == "/notify_url"
    with_port = {**http_url, "notify_url": "https://merchant.example.com:8443/notify"}
    assert merchant.request("POST", "/v3/pay/transactions/native", with_port).json()["code"] == "PARAM_ERROR"
    fine = {**http_url, "notify_url": "https://merchant.example.com/notify"}
    assert merchant.request("POST", "/v3/pay/transactions/native", fine).status_code == 200
    early = merchant.request("POST", "/v3/pay/transactions/out-trade-no/STRICT-001/close", {"mchid": sim.mchid})
    assert early.status_code == 400 and early.json()["code"] == "INVALID_REQUEST"
    clock.advance(301)
    late = merchant.request("POST", "/v3/pay/transactions/out-trade-no/STRICT-001/close", {"mchid": sim.mchid})
    assert late.status_code == 204


# -- certificates ------------------------------------------------------------------------------------------------
def test_certificates_public_key_mode_is_404(merchant: V3Merchant) -> None:
    response = merchant.request("GET", "/v3/certificates")
    assert response.status_code == 404
    assert response.json()["code"] == "RESOURCE_NOT_EXISTS"
    assert "无可用的平台证书" in response.json()["message"]


@pytest.mark.parametrize("verification", ["platform_certificate"], indirect=True)
def test_certificates_in_certificate_mode(merchant: V3Merchant, sim: Simulator, clock: ManualClock) -> None:
    response = merchant.request("GET", "/v3/certificates")
    assert response.status_code == 200
    merchant.verify(response)
    (entry,) = response.json()["data"]
    assert entry["serial_no"] == sim.account["platform_serial_no"]
    sealed = entry["encrypt_certificate"]
    assert sealed["algorithm"] == "AEAD_AES_256_GCM" and sealed["associated_data"] == "certificate"
    pem = aes_gcm_decrypt(sim.account["apiv3_key"].encode(), sealed["nonce"], sealed["associated_data"],
                          sealed["ciphertext"])
    certificate = load_certificate(pem)
    assert f"{certificate.serial_number:X}" == entry["serial_no"]
    assert certificate.not_valid_before_utc.timestamp() < clock() < certificate.not_valid_after_utc.timestamp()


# -- bills ---------------------------------------------------------------------------------------------------------
def _download(merchant: V3Merchant, answer: dict[str, Any]) -> httpx.Response:
    url = answer["download_url"]
    assert url.startswith(BASE_URL + "/v3/billdownload/file?token=")
    return merchant.request("GET", url[len(BASE_URL):])


def test_trade_and_fundflow_bills(merchant: V3Merchant, sim: Simulator, clock: ManualClock) -> None:
    paid = _pay(merchant, sim, "BILL-00001", total=1234)
    merchant.request("POST", "/v3/refund/domestic/refunds", {"out_trade_no": "BILL-00001", "out_refund_no": "BR-1",
                                                              "amount": {"refund": 234, "total": 1234,
                                                                         "currency": "CNY"}})
    clock.advance(5)
    sim.tick()
    today = beijing(clock()).date().isoformat()

    apply = merchant.request("GET", f"/v3/bill/tradebill?bill_date={today}&bill_type=ALL&tar_type=GZIP")
    assert apply.status_code == 200
    merchant.verify(apply)
    answer = apply.json()
    download = _download(merchant, answer)
    assert download.status_code == 200
    assert "wechatpay-signature" not in download.headers  # file downloads are not signed
    text = gzip.decompress(download.content)
    assert hashlib.sha1(text).hexdigest() == answer["hash_value"] and answer["hash_type"] == "SHA1"
    lines = text.decode().splitlines()
    assert lines[0].startswith("交易时间,公众账号ID,商户号")
    rows = [line.split(",") for line in lines[1:-2]]
    assert len(rows) == 2 and all(value.startswith("`") for row in rows for value in row)
    assert rows[0][5] == "`" + paid["transaction_id"] and rows[0][9] == "`SUCCESS" and rows[0][12] == "`12.34"
    assert rows[1][9] == "`REFUND" and rows[1][15] == "`BR-1" and rows[1][16] == "`2.34"
    assert lines[-2].startswith("总交易单数")
    assert lines[-1].split(",")[:3] == ["`2", "`12.34", "`2.34"]

    plain = merchant.request("GET", f"/v3/bill/tradebill?bill_date={today}&bill_type=SUCCESS").json()
    body = _download(merchant, plain).content
    assert hashlib.sha1(body).hexdigest() == plain["hash_value"]
    assert body.decode().count("`SUCCESS") == 1 and "`REFUND" not in body.decode()

    fund = merchant.request("GET", f"/v3/bill/fundflowbill?bill_date={today}").json()
    fund_text = _download(merchant, fund).content.decode()
    assert fund_text.startswith("记账时间,微信支付业务单号")
    assert "`收入,`12.34" in fund_text and "`支出,`2.34" in fund_text


def test_bill_errors(merchant: V3Merchant, sim: Simulator, clock: ManualClock) -> None:
    future = beijing(clock() + 3 * 86400).date().isoformat()
    assert merchant.request("GET", f"/v3/bill/tradebill?bill_date={future}").json()["code"] == "NO_STATEMENT_EXIST"
    assert merchant.request("GET", "/v3/bill/tradebill?bill_date=20240101").json()["code"] == "PARAM_ERROR"
    assert merchant.request("GET", "/v3/bill/tradebill").json()["code"] == "PARAM_ERROR"
    today = beijing(clock()).date().isoformat()
    assert merchant.request("GET", f"/v3/bill/tradebill?bill_date={today}&bill_type=X").json()["code"] == \
        "PARAM_ERROR"
    answer = merchant.request("GET", f"/v3/bill/tradebill?bill_date={today}").json()
    forged = answer["download_url"][len(BASE_URL):-4] + "0000"
    assert merchant.request("GET", forged).json()["code"] == "INVALID_REQUEST"
    clock.advance(301)
    assert _download(merchant, answer).json()["code"] == "INVALID_REQUEST"  # link expired
    unsigned = merchant.client.get(answer["download_url"])
    assert unsigned.status_code == 401


def test_bundles_differ_per_test(_bundle_templates: dict[str, Path], tmp_path: Path) -> None:
    copy = copy_bundle(_bundle_templates, "public_key", tmp_path / "x")
    assert not (copy / "simulator" / "ledger.sqlite3").exists()


def test_out_trade_no_with_every_allowed_character(merchant: V3Merchant, sim: Simulator) -> None:
    number = "A-b_1|2*3"
    assert merchant.request("POST", "/v3/pay/transactions/native", order_body(sim, "native", number)).status_code == 200
    for path in (f"/v3/pay/transactions/out-trade-no/{number}", "/v3/pay/transactions/out-trade-no/A-b_1%7C2*3"):
        response = merchant.request("GET", f"{path}?mchid={sim.mchid}")
        assert response.status_code == 200 and response.json()["out_trade_no"] == number
    closed = merchant.request("POST", "/v3/pay/transactions/out-trade-no/A-b_1%7C2*3/close", {"mchid": sim.mchid})
    assert closed.status_code == 204
    order = sim.ledger.order(sim.mchid, number)
    assert order is not None and order.state == "CLOSED"
