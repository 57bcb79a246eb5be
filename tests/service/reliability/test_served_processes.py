"""Two API processes on one PostgreSQL: ``weipay serve --workers 2`` (plus ``weipay worker`` and
``weipay simulator serve``), each in its own process, over real HTTP.

The kernel spreads connections over the two processes; WeChat (the simulator) delivers every notification
twice and out of order, so a payment's two deliveries often reach different processes at the same moment.
Eight clients check out, pay and refund at once, and every refund is also requested twice at the same time
(same ``merchant_refund_no``, two connections), with a second, over-large refund racing it. Afterwards, in the
database and at WeChat: each order paid exactly once, each refund created and sent to WeChat exactly once,
never more refunded than paid; and both processes did part of the work.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from weipay.service.db import upgrade

from .served import free_port
from .test_served_refund_states import _answers, _wait_for

MCHID = "1900000109"
API_KEY = "served-processes-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
WEIPAY = str(Path(sys.executable).with_name("weipay"))
ORDERS = 24
CLIENTS = 8


@dataclass
class Stack:
    service_url: str
    control: httpx.Client
    database_url: str
    serve: subprocess.Popen[bytes]


@pytest.fixture
def stack(postgres_database_url: str, tmp_path: Path) -> Iterator[Stack]:
    bundle = tmp_path / "bundle"
    subprocess.run([WEIPAY, "simulator", "init", str(bundle), "--mchid", MCHID], check=True, capture_output=True)
    wechat_port, service_port = free_port(), free_port()
    wechat_url = f"http://127.0.0.1:{wechat_port}"
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = [subprocess.Popen(
        [WEIPAY, "simulator", "serve", str(bundle), "--port", str(wechat_port), "--https-port", str(free_port()),
         "--time-scale", "4"], stdout=subprocess.DEVNULL, stderr=(logs / "simulator.log").open("wb"))]  # fmt: skip
    control = httpx.Client(base_url=wechat_url, timeout=10)
    upgrade(postgres_database_url)
    config = tmp_path / "weipay.json"
    config.write_text(json.dumps({
        "database_url": postgres_database_url, "public_base_url": f"http://127.0.0.1:{service_port}",
        "merchants": [{"mchid": MCHID, "bundle_dir": str(bundle / "merchant"), "api_keys": [API_KEY],
                       "wechat": {"base_url": wechat_url, "login_base_url": wechat_url}}],
    }))  # fmt: skip
    try:
        _wait_for("the simulator", lambda: _answers(control, "/simulator/faults"))
        plan = {"notify_duplicate_rate": 1.0, "notify_reorder": True, "seed": 7}
        assert control.put("/simulator/faults", json=plan).status_code == 200
        serve = subprocess.Popen(
            [WEIPAY, "serve", "--config", str(config), "--port", str(service_port), "--no-migrate", "--workers", "2"],
            stdout=subprocess.DEVNULL, stderr=(logs / "serve.log").open("wb"),
        )  # fmt: skip
        processes.append(serve)
        url = f"http://127.0.0.1:{service_port}"
        with httpx.Client(base_url=url, timeout=5) as probe:
            _wait_for("weipay serve --workers 2", lambda: _answers(probe, "/healthz"), timeout_s=90)
        processes.append(subprocess.Popen([WEIPAY, "worker", "--config", str(config), "--poll-interval", "0.2"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        yield Stack(url, control, postgres_database_url, serve)
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(20)
        control.close()


def _children_cpu_s(parent: int) -> dict[int, float]:
    """User + system CPU seconds of each child process of ``parent`` (uvicorn's worker processes)."""
    found = {}
    for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        if b"resource_tracker" in Path(f"/proc/{child}/cmdline").read_bytes():
            continue  # multiprocessing's helper, not a server
        fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        found[int(child)] = (int(fields[11]) + int(fields[12])) / 100  # utime, stime in clock ticks (100 Hz)
    return found


def _checkout_pay_refund(stack: Stack, n: int) -> dict[str, Any]:
    """One customer: check out, pay at WeChat, wait until paid, then refund twice at once (same number)."""
    api = "v3" if n % 3 else "v2"
    with httpx.Client(base_url=stack.service_url, headers=AUTH, timeout=30) as client, \
         httpx.Client(base_url=stack.service_url, headers=AUTH, timeout=30) as other:  # fmt: skip
        order = client.post("/v1/orders", json={"merchant_order_no": f"MP-{n:03d}", "amount": 1000 + n,
                                                "description": "tea"}).json()  # fmt: skip
        payment = other.post(f"/v1/orders/{order['id']}/payments", json={"channel": "native", "api": api})
        assert payment.status_code == 201, payment.text
        paid = stack.control.post("/simulator/payments", json={"code_url": payment.json()["code_url"]})
        assert paid.status_code == 200, paid.text
        _wait_for(f"order {n} paid", lambda: client.get(f"/v1/orders/{order['id']}").json()["status"] == "paid")
        if api == "v2":  # v2 refunds need the simulator's mTLS port, which this stack does not wire
            return {"order": order, "refunds": []}
        body = {"merchant_refund_no": f"MPR-{n:03d}", "amount": 600}
        with ThreadPoolExecutor(3) as pool:
            twins = [pool.submit(c.post, f"/v1/orders/{order['id']}/refunds", json=body) for c in (client, other)]
            too_much = pool.submit(client.post, f"/v1/orders/{order['id']}/refunds",
                                   json={"merchant_refund_no": f"MPX-{n:03d}", "amount": 600})  # fmt: skip
            answers = [twin.result() for twin in twins]
            over = too_much.result()
        # 600 + 600 > 1000 + n: of the two different refunds exactly one fits, whichever reserved first; the
        # twins (one refund asked twice) are one refund: one told it created it, the other given the same one.
        codes = sorted(answer.status_code for answer in answers)
        if over.status_code == 201:
            assert codes == [409, 409], [a.text for a in answers]
            return {"order": order, "refunds": [over.json()]}
        assert (over.status_code, codes) == (409, [200, 201]), (over.text, [a.text for a in answers])
        assert answers[0].json()["id"] == answers[1].json()["id"]
        return {"order": order, "refunds": [answers[0].json()]}


def test_two_api_processes_keep_payments_and_refunds_exactly_once(stack: Stack) -> None:
    before = _children_cpu_s(stack.serve.pid)
    assert len(before) == 2, f"expected two uvicorn worker processes, found {before}"
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda n: _checkout_pay_refund(stack, n), range(ORDERS)))
    after = _children_cpu_s(stack.serve.pid)

    refunded_orders = [r for r in results if r["refunds"]]
    assert len(refunded_orders) == len([n for n in range(ORDERS) if n % 3])
    engine = sa.create_engine(stack.database_url)
    try:

        def settled() -> bool:
            with engine.connect() as conn:
                open_refunds = conn.execute(
                    sa.text("SELECT count(*) FROM refunds WHERE status NOT IN ('succeeded', 'failed')")
                ).scalar_one()
            return open_refunds == 0

        _wait_for("every refund to end", settled, timeout_s=120)
        with engine.connect() as conn:
            orders = conn.execute(sa.text(
                "SELECT o.id, o.amount_fen, o.paid_fen, o.refunded_fen, o.reserved_fen, o.status,"
                " (SELECT count(*) FROM payment_attempts a WHERE a.order_id = o.id AND a.status = 'succeeded'),"
                " (SELECT coalesce(sum(r.amount_fen), 0) FROM refunds r WHERE r.order_id = o.id"
                "   AND r.status = 'succeeded')"
                " FROM orders o")).all()  # fmt: skip
            notifications = conn.execute(sa.text("SELECT count(*), count(DISTINCT event_id) FROM notifications")).one()
    finally:
        engine.dispose()

    assert len(orders) == ORDERS
    for order_id, amount, paid, refunded, reserved, status, succeeded, refunded_rows in orders:
        assert succeeded == 1, f"{order_id}: {succeeded} succeeded attempts"
        assert paid == amount
        assert refunded == refunded_rows <= paid, (order_id, refunded, refunded_rows, paid)
        assert reserved == 0
        assert status in ("paid", "partially_refunded")
    assert notifications[0] == notifications[1]  # every stored notification is a distinct event

    at_wechat = stack.control.get("/simulator/orders").json()["orders"]
    refunds_at_wechat = [refund for order in at_wechat for refund in order["refunds"]]
    by_number: dict[str, int] = {}
    for refund in refunds_at_wechat:
        by_number[refund["out_refund_no"]] = by_number.get(refund["out_refund_no"], 0) + 1
    assert all(count == 1 for count in by_number.values()), by_number
    assert len([r for r in refunds_at_wechat if r["status"] == "SUCCESS"]) == len(refunded_orders)
    paid_at_wechat = [order for order in at_wechat if order["state"] in ("SUCCESS", "REFUND")]
    assert len(paid_at_wechat) == ORDERS

    used = {pid: after[pid] - before.get(pid, 0.0) for pid in after}
    assert all(seconds >= 0.2 for seconds in used.values()), f"a process did no work: {used}"
