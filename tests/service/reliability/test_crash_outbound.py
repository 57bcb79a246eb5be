"""T07: ``kill -9`` of a real ``weipay serve`` after WeChat took a create or a refund, before its answer.

The simulator runs on a real port and is told to commit the call, then hold its answer
(``commit_then_timeout``). While the service waits, it is killed: WeChat now holds an order or a refund the
service never heard back about.

- Create: after a restart the payer asks again with the same channel; the service must resume the same
  ``out_trade_no`` with identical parameters (WeChat answers the same prepay, never ``OUT_TRADE_NO_USED``
  and never a second order), and the payment then completes once.
- Refund: the refund row and its safety-net sync job were committed before the call; the worker (its clock
  past the job's due time) submits the same ``out_refund_no`` again, WeChat recognises it, and the money
  moves once: one refund at WeChat, ``refunded`` counted once here.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from weipay.service.bootstrap import build_services
from weipay.service.db import SqlUnitOfWork, upgrade
from weipay.service.domain import out_trade_no
from weipay.service.settings import load_settings
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


@dataclass
class Service:
    """``weipay serve`` processes on one port and database, started and restarted by the test."""

    config: Path
    port: int
    control: httpx.Client  # the simulator's control API
    servers: list[Server] = field(default_factory=list)

    def start(self) -> httpx.Client:
        """A new server process; a client of its API, as the merchant."""
        server = Server(self.config, self.port)
        self.servers.append(server)
        return httpx.Client(base_url=server.url, headers=AUTH, timeout=30)

    @property
    def running(self) -> Server:
        """The newest server process."""
        return self.servers[-1]


@pytest.fixture
def service(database_url: str, wechat: RunningSimulator, tmp_path: Path) -> Iterator[Service]:
    upgrade(database_url)
    port = free_port()
    config = tmp_path / "weipay.toml"
    config.write_text(
        f'database_url = "{database_url}"\npublic_base_url = "http://127.0.0.1:{port}"\n\n'
        f'[[merchants]]\nmchid = "{MCHID}"\nbundle_dir = "{tmp_path / "bundle" / "merchant"}"\n'
        f'api_keys = ["{API_KEY}"]\n'
        f'wechat = {{ base_url = "{wechat.base_url}", login_base_url = "{wechat.base_url}" }}\n'
    )
    running = Service(config, port, httpx.Client(base_url=wechat.base_url, timeout=10))
    try:
        yield running
    finally:
        for server in running.servers:
            server.kill()
        running.control.close()


def _kill_while_wechat_holds_the_answer(
    server: Server, control: httpx.Client, path: str, call: Callable[[], object], taken: Callable[[], bool]
) -> None:
    """Run ``call`` against the service while WeChat commits ``path`` calls and holds their answers; once
    ``taken()`` says WeChat has it, kill the service."""
    faults = {"commit_then_timeout_rate": 1.0, "paths": [path], "seed": 7}
    assert control.put("/simulator/faults", json=faults).status_code == 200

    def ask() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server is killed under this request
            call()

    asking = threading.Thread(target=ask)
    asking.start()
    deadline = time.monotonic() + 10
    while not taken():
        assert time.monotonic() < deadline, f"the {path} call never reached WeChat"
        time.sleep(0.02)
    server.kill()
    asking.join(30)
    assert control.put("/simulator/faults", json={}).status_code == 200


def test_kill_9_after_wechat_took_the_order_resumes_the_same_order(
    database_url: str, wechat: RunningSimulator, service: Service
) -> None:
    control = service.control
    api = service.start()
    order = api.post("/v1/orders", json={"merchant_order_no": "T07-1", "amount": 880, "description": "tea"}).json()
    number = out_trade_no(order["id"], 1)
    _kill_while_wechat_holds_the_answer(
        service.running, control, "/v3/pay/transactions/",
        lambda: api.post(f"/v1/orders/{order['id']}/payments", json={"channel": "native", "api": "v3"}),
        lambda: bool(_wechat_orders(control, number)),
    )  # fmt: skip
    uow = SqlUnitOfWork.from_url(database_url)
    with uow.read() as tx:
        (attempt,) = tx.attempts.for_order(order["id"])
    uow.engine.dispose()
    assert attempt.out_trade_no == number and not attempt.code_url  # the service never heard back

    api = service.start()
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


def test_kill_9_after_wechat_took_the_refund_moves_the_money_once(wechat: RunningSimulator, service: Service) -> None:
    control = service.control
    api = service.start()
    order = api.post("/v1/orders", json={"merchant_order_no": "T07-2", "amount": 880, "description": "tea"}).json()
    payment = api.post(f"/v1/orders/{order['id']}/payments", json={"channel": "native", "api": "v3"}).json()
    number = payment["out_trade_no"]
    assert control.post("/simulator/payments", json={"mchid": MCHID, "out_trade_no": number}).status_code == 200
    wechat.sim.tick()
    assert api.get(f"/v1/orders/{order['id']}").json()["status"] == "paid"

    def wechat_refunds() -> list[dict[str, Any]]:
        return list(_wechat_orders(control, number)[0]["refunds"])

    _kill_while_wechat_holds_the_answer(
        service.running, control, "/v3/refund/domestic/refunds",
        lambda: api.post(f"/v1/orders/{order['id']}/refunds", json={"merchant_refund_no": "R1", "amount": 300}),
        lambda: bool(wechat_refunds()),
    )  # fmt: skip
    later = build_services(load_settings(service.config), clock=lambda: time.time() + 120)  # past the sync's due time
    api = service.start()
    try:
        assert later.run_due_jobs() >= 1  # the worker resubmits the same out_refund_no
        (refund,) = wechat_refunds()
        if refund["status"] == "PROCESSING":  # let the bank finish it now (and notify)
            done = control.post("/simulator/refunds", json={"out_refund_no": refund["out_refund_no"],
                                                            "status": "SUCCESS"})  # fmt: skip
            assert done.status_code == 200, done.text
        wechat.sim.tick()  # the refund notification reaches the restarted service
        final = api.get(f"/v1/orders/{order['id']}").json()
        assert final["refunded_amount"] == 300 and final["status"] == "partially_refunded"
        assert [(r["status"], r["amount"]) for r in final["refunds"]] == [("succeeded", 300)]
        assert [r["amount_fen"] for r in wechat_refunds()] == [300]  # one money movement at WeChat
    finally:
        later.close()
