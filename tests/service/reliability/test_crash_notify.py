"""T06 (notification path): ``kill -9`` of a real ``weipay serve`` in the middle of a notification burst.

The promise under test: a success reply means the state it reports is committed (the group-commit writer
answers only after its batch's COMMIT), and whatever was cut off is applied exactly once when WeChat
delivers again. Each round starts the server, sends signed v3 notifications from 16 threads, and kills the
process with SIGKILL at a random moment, which lands before, inside and after batches (verify, queue, BEGIN
… COMMIT, reply). Right after each kill the database must already hold every acknowledged payment. At the
end every notification is delivered again to a restarted server: every attempt and order is paid once,
with one inbox row, one call record and one webhook job each, and no anomaly.
"""

from __future__ import annotations

import json
import random
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from weipay.sdk.v3.wechat_side import build_notification
from weipay.service.db import SqlUnitOfWork, upgrade
from weipay.service.db.tables import anomalies, call_log, jobs, notifications, orders, payment_attempts
from weipay.simulator.bundle import init_bundle, load_simulator_account

from .served import Server

MCHID = "1900000109"
ORDERS = 600
CRASHES = 3


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("crash-bundle") / "bundle"
    init_bundle(root, mchid=MCHID)
    return {**load_simulator_account(root), "merchant_dir": str(root / "merchant")}


def _seed(uow: SqlUnitOfWork, appid: str) -> list[str]:
    now = time.time()
    order_rows, attempt_rows = [], []
    for index in range(ORDERS):
        order_id = f"crash-{index:04d}"
        order_rows.append({
            "id": order_id, "mchid": MCHID, "merchant_order_no": order_id, "request_hash": "h",
            "amount_fen": 100 + index, "currency": "CNY", "description": "crash", "status": "pending",
            "created_at": now, "updated_at": now, "expires_at": now + 7200,
        })  # fmt: skip
        attempt_rows.append({
            "id": f"{order_id}-a1", "order_id": order_id, "seq": 1, "mchid": MCHID, "appid": appid,
            "out_trade_no": f"{order_id}-1", "api": "v3", "channel": "native", "status": "pending",
            "amount_fen": 100 + index, "currency": "CNY", "description": "crash", "notify_url": "https://m/n",
            "time_expire": now + 7200, "created_at": now, "updated_at": now,
        })  # fmt: skip
    with uow.write() as tx:
        tx.connection.execute(orders.insert(), order_rows)
        tx.connection.execute(payment_attempts.insert(), attempt_rows)
    return [row["out_trade_no"] for row in attempt_rows]


def _signed(account: dict[str, Any], appid: str, out_trade_no: str, amount: int) -> tuple[dict[str, str], bytes]:
    resource = {
        "appid": appid, "mchid": MCHID, "out_trade_no": out_trade_no, "transaction_id": "42" + secrets.token_hex(12),
        "trade_type": "NATIVE", "trade_state": "SUCCESS", "trade_state_desc": "ok", "bank_type": "OTHERS",
        "success_time": "2026-11-23T09:20:00+08:00", "payer": {"openid": "o-crash"},
        "amount": {"total": amount, "payer_total": amount, "currency": "CNY", "payer_currency": "CNY"},
    }  # fmt: skip
    return build_notification(
        private_key=account["wechatpay_private_key"], serial=account["wechatpay_public_key_id"],
        api_v3_key=account["apiv3_key"].encode(), notification_id=str(uuid.uuid4()),
        create_time="2026-11-23T09:20:00+08:00", event_type="TRANSACTION.SUCCESS", summary="支付成功",
        original_type="transaction", associated_data="transaction", plaintext=json.dumps(resource).encode(),
        resource_nonce=secrets.token_hex(6), timestamp=str(int(time.time())), nonce=secrets.token_hex(16),
    )  # fmt: skip


def _deliver(url: str, notification: tuple[dict[str, str], bytes]) -> bool:
    headers, body = notification
    try:
        response = httpx.post(url, content=body, headers={**headers, "Content-Type": "application/json"}, timeout=10)
    except httpx.HTTPError:  # the server died under this request
        return False
    return response.status_code == 204


def _succeeded(uow: SqlUnitOfWork) -> set[str]:
    with uow.read() as tx:
        statement = sa.select(payment_attempts.c.out_trade_no).where(payment_attempts.c.status == "succeeded")
        return set(tx.connection.execute(statement).scalars())


def test_kill_9_mid_burst_loses_no_acknowledged_payment_and_redelivery_applies_each_once(
    database_url: str, account: dict[str, Any], tmp_path: Path
) -> None:
    upgrade(database_url)
    uow = SqlUnitOfWork.from_url(database_url)
    appid = account["appids"]["miniprogram"]
    numbers = _seed(uow, appid)
    signed = {n: _signed(account, appid, n, 100 + i) for i, n in enumerate(numbers)}
    config = tmp_path / "weipay.toml"
    config.write_text(
        f'database_url = "{database_url}"\npublic_base_url = "https://pay.example.com"\n\n'
        f'[[merchants]]\nmchid = "{MCHID}"\nbundle_dir = "{account["merchant_dir"]}"\n'
        f'appids = {{ miniprogram = "{appid}" }}\n'
    )
    rng = random.Random(6)
    acknowledged: set[str] = set()
    for crash in range(CRASHES):
        server = Server(config)
        url = f"{server.url}/notify/wechatpay/v3/{MCHID}"
        share = numbers[crash::CRASHES] + rng.sample(numbers, 20)  # some repeat earlier rounds' deliveries
        with ThreadPoolExecutor(16) as pool:
            replies = [pool.submit(_deliver, url, signed[n]) for n in share]
            time.sleep(rng.uniform(0.05, 0.3))
            server.kill()
            acked = {n for n, reply in zip(share, replies, strict=True) if reply.result()}
        committed = _succeeded(uow)
        assert acked <= committed, f"crash {crash}: acknowledged but not committed: {sorted(acked - committed)[:5]}"
        acknowledged |= acked
    # The kills must have cut bursts short, or this test proves nothing.
    assert len(acknowledged) < len(numbers)

    server = Server(config)  # WeChat delivers again: every notification, acknowledged or not
    try:
        url = f"{server.url}/notify/wechatpay/v3/{MCHID}"
        with ThreadPoolExecutor(16) as pool:
            assert all(pool.map(lambda n: _deliver(url, signed[n]), numbers))
    finally:
        server.kill()
    with uow.read() as tx:
        conn = tx.connection

        def count(table: sa.Table, *where: Any) -> int:
            return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()

        assert count(payment_attempts, payment_attempts.c.status == "succeeded") == ORDERS
        assert count(orders, orders.c.status == "paid", orders.c.paid_fen == orders.c.amount_fen) == ORDERS
        assert count(notifications) == ORDERS  # one inbox row per event id, however many deliveries
        assert count(call_log) == ORDERS
        assert count(jobs, jobs.c.kind == "deliver_webhook") == ORDERS
        assert count(anomalies) == 0
    uow.engine.dispose()
