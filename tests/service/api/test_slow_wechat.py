"""With WeChat answering slowly, the API stays alive: checkouts wait on the event loop, not on threads; reads
and ``/healthz`` answer at once; beyond the merchant's ``max_in_flight`` a checkout is refused at once (503).

The service runs as an ASGI app on the test's event loop; the simulator, in-process, holds every WeChat answer
for ``LATENCY_S`` (an ``asyncio.sleep``). More checkouts wait than FastAPI's thread pool has threads (40), so a
handler that held a thread during its WeChat call would make the reads below wait the whole latency.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from weipay.service.api import create_app
from weipay.service.db import upgrade
from weipay.simulator.clock import ManualClock
from weipay.simulator.core import Simulator
from weipay.simulator.transport import SimulatorTransport

from ..web_harness import API_KEY, SERVICE_URL, copy_bundle, service_settings

pytestmark = pytest.mark.anyio

LATENCY_S = 1.5
MAX_IN_FLIGHT = 50
CHECKOUTS = 60  # 10 more than the bound, 20 more than FastAPI's thread pool
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _timed(call: Any) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = await call
    return time.perf_counter() - started, response


async def test_reads_and_health_do_not_wait_behind_slow_wechat_calls(
    bundle_template: Path, tmp_path: Path, database_url: str
) -> None:
    bundle = copy_bundle(bundle_template, tmp_path / "bundle")
    sim = Simulator(bundle, clock=ManualClock(time.time()))
    settings = service_settings(database_url, bundle, sim, wechat={
        "base_url": sim.base_url, "https_base_url": sim.https_base_url, "login_base_url": sim.base_url,
        "max_in_flight": MAX_IN_FLIGHT,
    })  # fmt: skip
    upgrade(database_url)
    app = create_app(settings, wechat_transport=SimulatorTransport(sim, latency_cap_s=LATENCY_S + 1))
    control = httpx.Client(transport=SimulatorTransport(sim), base_url=sim.base_url)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url=SERVICE_URL, timeout=30) as api:
            orders = []
            for n in range(CHECKOUTS + 1):
                created = await api.post("/v1/orders", headers=AUTH, json={"merchant_order_no": f"SLOW-{n:04d}",
                                                                           "amount": 100 + n, "description": "tea"})
                assert created.status_code == 201, created.text
                orders.append(created.json()["id"])
            probe_order = orders.pop()
            assert control.put("/simulator/faults", json={"latency_ms": int(LATENCY_S * 1000)}).status_code == 200

            results: list[tuple[float, httpx.Response]] = []
            probes: list[tuple[str, float, httpx.Response]] = []

            async def checkout(order_id: str) -> None:
                results.append(await _timed(api.post(f"/v1/orders/{order_id}/payments", headers=AUTH,
                                                     json={"channel": "native", "api": "v3"})))  # fmt: skip

            async def probe() -> None:
                await anyio.sleep(0.3)  # every checkout has reached WeChat by now
                for _ in range(3):
                    for path in (f"/v1/orders/{probe_order}", "/healthz"):
                        seconds, response = await _timed(api.get(path, headers=AUTH))
                        probes.append((path, seconds, response))
                    await anyio.sleep(0.1)

            started = time.perf_counter()
            async with anyio.create_task_group() as group:
                for order_id in orders:
                    group.start_soon(checkout, order_id)
                group.start_soon(probe)
            elapsed = time.perf_counter() - started
    finally:
        app.state.api.close()
        control.close()
        sim.close()

    statuses = sorted(response.status_code for _, response in results)
    assert statuses.count(201) == MAX_IN_FLIGHT, statuses
    refused = [(seconds, response) for seconds, response in results if response.status_code == 503]
    assert len(refused) == CHECKOUTS - MAX_IN_FLIGHT
    for seconds, response in refused:
        assert response.json()["error"]["code"] == "wechat_busy"
        assert response.headers["Retry-After"] == "1"
        assert seconds < LATENCY_S / 3, "a refusal is immediate, not queued"
    paid_like = [seconds for seconds, response in results if response.status_code == 201]
    assert min(paid_like) >= LATENCY_S  # they did wait on WeChat...
    assert elapsed < 2 * LATENCY_S + 1  # ...all at once, not 40 at a time
    assert len(probes) == 6
    for path, seconds, response in probes:
        assert response.status_code == 200, (path, response.text)
        assert seconds < LATENCY_S / 3, f"{path} waited {seconds:.2f} s behind WeChat calls"
    codes = [json.loads(response.text).get("code_url") for _, response in results if response.status_code == 201]
    assert all(code and code.startswith("weixin://") for code in codes)
