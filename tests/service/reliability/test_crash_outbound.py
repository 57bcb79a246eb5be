"""T07 (order creation): ``kill -9`` of a real ``weipay serve`` after WeChat took the order, before the answer.

The simulator runs on a real port and is told to commit the create call, then hold its answer
(``commit_then_timeout``). While the service waits, it is killed: WeChat now holds an order the service never
heard back about. After a restart the payer asks again with the same channel: the service must resume the
same ``out_trade_no`` with identical parameters (WeChat answers the same prepay, never ``OUT_TRADE_NO_USED``
and never a second order), and the payment then completes once.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from weipay.service.db import SqlUnitOfWork, upgrade
from weipay.service.domain import out_trade_no
from weipay.simulator.bundle import init_bundle
from weipay.simulator.core import Simulator
from weipay.simulator.server import RunningSimulator, start_in_thread

from .served import Server, free_port

MCHID = "1900000109"
API_KEY = "crash-outbound-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def wechat(tmp_path: Path) -> Iterator[RunningSimulator]:
    root = tmp_path / "bundle"
    init_bundle(root, mchid=MCHID)
    running = start_in_thread(Simulator(root), port=0, https_port=None)
    try:
        yield running
    finally:
        running.stop()


def _wechat_orders(control: httpx.Client, number: str) -> list[dict[str, Any]]:
    return list(control.get("/simulator/orders", params={"out_trade_no": number}).json()["orders"])


def test_kill_9_after_wechat_took_the_order_resumes_the_same_order(
    database_url: str, wechat: RunningSimulator, tmp_path: Path
) -> None:
    upgrade(database_url)
    port = free_port()
    config = tmp_path / "weipay.toml"
    config.write_text(
        f'database_url = "{database_url}"\npublic_base_url = "http://127.0.0.1:{port}"\n\n'
        f'[[merchants]]\nmchid = "{MCHID}"\nbundle_dir = "{tmp_path / "bundle" / "merchant"}"\n'
        f'api_keys = ["{API_KEY}"]\n'
        f'wechat = {{ base_url = "{wechat.base_url}", login_base_url = "{wechat.base_url}" }}\n'
    )
    control = httpx.Client(base_url=wechat.base_url, timeout=10)
    server = Server(config, port)
    api = httpx.Client(base_url=server.url, headers=AUTH, timeout=30)
    order = api.post("/v1/orders", json={"merchant_order_no": "T07-1", "amount": 880, "description": "tea"}).json()
    number = out_trade_no(order["id"], 1)
    faults = {"commit_then_timeout_rate": 1.0, "paths": ["/v3/pay/transactions/"], "seed": 7}
    assert control.put("/simulator/faults", json=faults).status_code == 200

    def ask() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server is killed under this request
            api.post(f"/v1/orders/{order['id']}/payments", json={"channel": "native", "api": "v3"})

    asking = threading.Thread(target=ask)
    asking.start()
    deadline = time.monotonic() + 10
    while not _wechat_orders(control, number):  # WeChat has committed the order; its answer is being held
        assert time.monotonic() < deadline, "the create call never reached WeChat"
        time.sleep(0.02)
    server.kill()
    asking.join(30)
    uow = SqlUnitOfWork.from_url(database_url)
    try:
        with uow.read() as tx:
            (attempt,) = tx.attempts.for_order(order["id"])
        assert attempt.out_trade_no == number and not attempt.code_url  # the service never heard back

        assert control.put("/simulator/faults", json={}).status_code == 200
        server = Server(config, port)
        api = httpx.Client(base_url=server.url, headers=AUTH, timeout=30)
        again = api.post(f"/v1/orders/{order['id']}/payments", json={"channel": "native", "api": "v3"})
        assert again.status_code in (200, 201), again.text
        resumed = again.json()
        assert resumed["out_trade_no"] == number and resumed["code_url"]
        assert len(_wechat_orders(control, number)) == 1
        assert control.post("/simulator/payments", json={"mchid": MCHID, "out_trade_no": number}).status_code == 200
        wechat.sim.tick()  # WeChat delivers the payment notification to the restarted service
        final = api.get(f"/v1/orders/{order['id']}").json()
        assert final["status"] == "paid" and final["paid_amount"] == 880
        assert [a["out_trade_no"] for a in final["attempts"]] == [number]  # no orphan WeChat order
    finally:
        server.kill()
        uow.engine.dispose()
