"""SDK hot paths against the raw primitive and the peer SDKs, in one process.

Run: ``.venv/bin/python bench/sdk_bench.py [--runs 15] [--seconds 0.15]``

Each row is the median ops/s over ``--runs`` timed runs of about ``--seconds`` each. Ratios above 1
mean faster. Targets (docs/benchmarks.md): v3 signing and v3 notification verify+decrypt within 10 %
of the raw primitive (ours/raw >= 0.90), and no operation slower than the peer (ours/peer >= 1.0).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import secrets
import statistics
import string
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from weipay.sdk.v2.notify import parse_payment_notification
from weipay.sdk.v2.signing import sign as v2_sign
from weipay.sdk.v2.signing import signing_string
from weipay.sdk.v2.wechat_side import build_payment_notification
from weipay.sdk.v3.notify import parse_notification
from weipay.sdk.v3.signing import authorization, request_message
from weipay.sdk.v3.verifier import Verifier
from weipay.sdk.v3.wechat_side import build_notification

MCHID = "1230000109"
SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
KEY_ID = "PUB_KEY_ID_0000000000000024101100397200000006"
API_V3_KEY = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
API_V2_KEY = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
PATH = "/v3/pay/transactions/jsapi"
BODY = json.dumps(
    {
        "appid": "wxd678efh567hg6787",
        "mchid": MCHID,
        "description": "Image形象店-深圳腾大-QQ公仔",
        "out_trade_no": "1217752501201407033233368018",
        "notify_url": "https://www.weixin.qq.com/wxpay/pay.php",
        "amount": {"total": 100, "currency": "CNY"},
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    },
    ensure_ascii=False,
).encode()
TRANSACTION = {
    "mchid": MCHID,
    "appid": "wxd678efh567hg6787",
    "out_trade_no": "1217752501201407033233368018",
    "transaction_id": "4200000483202001042069747825",
    "trade_type": "JSAPI",
    "trade_state": "SUCCESS",
    "trade_state_desc": "支付成功",
    "bank_type": "OTHERS",
    "attach": "",
    "success_time": "2020-01-04T18:30:59+08:00",
    "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    "amount": {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"},
}
V2_NOTIFICATION = {
    "return_code": "SUCCESS",
    "result_code": "SUCCESS",
    "appid": "wx2421b1c4370ec43b",
    "mch_id": "10000100",
    "nonce_str": "5d2b6c2a8db53831f7eda20af46e531c",
    "openid": "oUpF8uMEb4qRXf22hE3X68TekukE",
    "is_subscribe": "Y",
    "trade_type": "JSAPI",
    "bank_type": "CFT",
    "total_fee": "1",
    "fee_type": "CNY",
    "cash_fee": "1",
    "transaction_id": "1004400740201409030005092168",
    "out_trade_no": "1409811653",
    "attach": "支付测试",
    "time_end": "20140903131540",
}


@dataclass(frozen=True)
class Row:
    """One benchmarked operation: ours, the raw primitive, and the peer SDK (if any)."""

    name: str
    ours: Callable[[], object]
    raw: Callable[[], object] | None
    peer: Callable[[], object] | None
    peer_name: str


def calibrate(operation: Callable[[], object], seconds: float) -> int:
    """How many calls of ``operation`` take about ``seconds``."""
    operation()
    started, calls = time.perf_counter(), 0
    while time.perf_counter() - started < seconds / 4:
        operation()
        calls += 1
    return max(1, calls * 4)


def timed(operation: Callable[[], object], calls: int) -> float:
    """ops/s of one run of ``calls`` calls."""
    started = time.perf_counter()
    for _ in range(calls):
        operation()
    return calls / (time.perf_counter() - started)


@dataclass(frozen=True)
class Measured:
    """Median ops/s of each side and the median of the per-round ratios."""

    ours: float
    raw: float | None
    peer: float | None
    ours_to_raw: float | None
    ours_to_peer: float | None


def measure(row: Row, runs: int, seconds: float) -> Measured:
    """Interleave ours, raw and peer round by round, so machine load hits all three alike."""
    sides = {"ours": row.ours, "raw": row.raw, "peer": row.peer}
    present = {name: operation for name, operation in sides.items() if operation is not None}
    calls = {name: calibrate(operation, seconds) for name, operation in present.items()}
    rounds: dict[str, list[float]] = {name: [] for name in present}
    for _ in range(runs):
        for name, operation in present.items():
            rounds[name].append(timed(operation, calls[name]))

    def ratio(other: str) -> float | None:
        if other not in rounds:
            return None
        return statistics.median(o / p for o, p in zip(rounds["ours"], rounds[other], strict=True))

    median = {name: statistics.median(values) for name, values in rounds.items()}
    return Measured(median["ours"], median.get("raw"), median.get("peer"), ratio("raw"), ratio("peer"))


def build_rows() -> list[Row]:
    merchant_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wechat_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    merchant_pem = merchant_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    wechat_public_pem = (
        wechat_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return [
        _v3_sign_row(merchant_key, merchant_pem),
        _v3_notify_row(wechat_key, merchant_pem, wechat_public_pem),
        _v2_sign_row(),
        _v2_notify_row(),
    ]


def _v3_sign_row(merchant_key: rsa.RSAPrivateKey, merchant_pem: str) -> Row:
    from wechatpayv3.utils import build_authorization, load_private_key

    peer_key = load_private_key(merchant_pem)
    body_text = BODY.decode()
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
    message = request_message("POST", PATH, timestamp, nonce, BODY)

    def ours() -> str:
        return authorization(
            mchid=MCHID,
            serial_no=SERIAL,
            private_key=merchant_key,
            method="POST",
            canonical_url=PATH,
            body=BODY,
            timestamp=timestamp,
            nonce=nonce,
        )

    def raw() -> bytes:
        return merchant_key.sign(message, pkcs1, sha256)

    def peer() -> str:
        return build_authorization(PATH, "POST", MCHID, SERIAL, peer_key, data=body_text, nonce_str=nonce)

    return Row("v3 request signing", ours, raw, peer, "wechatpayv3 build_authorization")


def _v3_notify_row(wechat_key: rsa.RSAPrivateKey, merchant_pem: str, wechat_public_pem: str) -> Row:
    from wechatpayv3.core import Core

    key = API_V3_KEY.encode()
    headers, body = build_notification(
        private_key=wechat_key,
        serial=KEY_ID,
        api_v3_key=key,
        notification_id="EV-2018022511223320873",
        create_time="2020-01-04T18:31:00+08:00",
        event_type="TRANSACTION.SUCCESS",
        summary="支付成功",
        original_type="transaction",
        associated_data="transaction",
        plaintext=json.dumps(TRANSACTION, ensure_ascii=False).encode(),
        resource_nonce=secrets.token_hex(6),
        # Far enough ahead that the whole run stays inside the 5-minute window.
        timestamp=str(int(time.time()) + 60),
        nonce=secrets.token_hex(16),
    )
    verifier = Verifier()
    verifier.add_public_key(KEY_ID, wechat_key.public_key())
    public_key, aesgcm = wechat_key.public_key(), AESGCM(key)
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
    peer = Core(MCHID, SERIAL, merchant_pem, API_V3_KEY, public_key=wechat_public_pem, public_key_id=KEY_ID)

    def ours() -> object:
        return parse_notification(verifier, key, headers, body)

    def raw() -> object:
        # The irreducible work: verify the signature over the exact bytes, decrypt, read both JSON layers.
        message = f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n".encode() + body + b"\n"
        public_key.verify(base64.b64decode(headers["Wechatpay-Signature"]), message, pkcs1, sha256)
        resource = json.loads(body)["resource"]
        plaintext = aesgcm.decrypt(
            resource["nonce"].encode(), base64.b64decode(resource["ciphertext"]), resource["associated_data"].encode()
        )
        return json.loads(plaintext)

    def peer_callback() -> object:
        return peer.callback(headers, body)

    assert peer_callback() is not None, "wechatpayv3 must accept the notification"
    return Row("v3 notification verify+decrypt", ours, raw, peer_callback, "wechatpayv3 Core.callback")


def _v2_sign_row() -> Row:
    from wechatpy.pay.utils import calculate_signature

    fields = {name: value for name, value in V2_NOTIFICATION.items()}
    prepared = signing_string(fields, API_V2_KEY)

    def ours() -> str:
        return v2_sign(fields, API_V2_KEY)

    def raw() -> str:
        return hashlib.md5(prepared).hexdigest().upper()  # the same string, already built

    def peer() -> str:
        return calculate_signature(fields, API_V2_KEY)

    assert ours() == peer() == raw()
    return Row("v2 sign (MD5)", ours, raw, peer, "wechatpy calculate_signature")


def _v2_notify_row() -> Row:
    from wechatpy.pay import WeChatPay

    body = build_payment_notification(API_V2_KEY, V2_NOTIFICATION)
    peer = WeChatPay(appid="wx2421b1c4370ec43b", api_key=API_V2_KEY, mch_id="10000100")

    def ours() -> object:
        return parse_payment_notification(API_V2_KEY, body)

    def peer_parse() -> object:
        return peer.parse_payment_result(body)

    assert ours().out_trade_no == peer_parse()["out_trade_no"]  # type: ignore[attr-defined]
    return Row("v2 notification parse+verify", ours, None, peer_parse, "wechatpy parse_payment_result")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per operation (median is reported)")
    parser.add_argument("--seconds", type=float, default=0.15, help="approximate length of one run")
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)  # wechatpy logs at DEBUG inside calculate_signature
    rows = build_rows()
    print(f"python {sys.version.split()[0]}, median of {args.runs} runs of ~{args.seconds}s each\n")
    print("| operation | ours ops/s | raw ops/s | peer ops/s | ours/raw | ours/peer | peer |")
    print("|---|---:|---:|---:|---:|---:|---|")
    failures = []
    for row in rows:
        result = measure(row, args.runs, args.seconds)
        print(
            f"| {row.name} | {result.ours:,.0f} | {_cell(result.raw, ',.0f')} | {_cell(result.peer, ',.0f')} "
            f"| {_cell(result.ours_to_raw, '.2f')} | {_cell(result.ours_to_peer, '.2f')} | {row.peer_name} |"
        )
        if row.name.startswith("v3") and result.ours_to_raw is not None and result.ours_to_raw < 0.90:
            failures.append(f"{row.name}: ours/raw {result.ours_to_raw:.2f} < 0.90")
        if result.ours_to_peer is not None and result.ours_to_peer < 1.0:
            failures.append(f"{row.name}: ours/peer {result.ours_to_peer:.2f} < 1.00")
    print()
    print("targets met" if not failures else "targets missed: " + "; ".join(failures))
    return 0 if not failures else 1


def _cell(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


if __name__ == "__main__":
    sys.exit(main())
