"""Every response names its request id (``X-Request-Id``), every log line of the request carries it, and a 500's
body names it: the notification lane's own answers included, a proxy's well-formed id kept, a malformed one not."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from weipay.service.api import create_app
from weipay.service.logs import configure_logging
from weipay.simulator.clock import ManualClock
from weipay.simulator.core import Simulator
from weipay.simulator.transport import SimulatorTransport

from ..web_harness import API_KEY, MCHID, SERVICE_URL, Harness, copy_bundle, service_settings

HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The process's log as the CLI configures it (JSON lines), into a buffer; the root logger restored after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging("INFO", "json", stream=buffer)
    yield buffer
    root.handlers[:] = handlers
    root.setLevel(level)


def _records(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_every_answer_carries_a_request_id_and_a_proxys_well_formed_one_is_kept(harness: Harness) -> None:
    answers = [
        harness.api.get("/healthz"),
        harness.api.get("/v1/orders/nope", headers=harness.merchant),  # 404 from a route
        harness.api.get("/v1/orders/nope"),  # 401 from authentication
        harness.api.get("/no/such/path"),  # 404 from routing
        harness.api.get(f"/notify/wechatpay/v3/{MCHID}"),  # 405 from the notification lane
        harness.api.post(f"/notify/wechatpay/v3/{MCHID}", content=b"{}"),  # refused by the lane
        harness.api.post("/v1/orders", headers=harness.merchant, content=b"x" * 70_000),  # 413 from the body limit
    ]
    ids = [answer.headers.get("x-request-id") for answer in answers]
    assert all(i is not None and HEX_ID.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == len(ids)

    kept = harness.api.get("/healthz", headers={"X-Request-Id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"})
    assert kept.headers["x-request-id"] == "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    for forged in ("short", "a" * 129, "abc def ghi", "abcdefgh\r\nX-Evil: 1", "<script>alert(1)</script>"):
        replaced = harness.api.get("/healthz", headers={"X-Request-Id": forged.encode("latin-1")})
        assert HEX_ID.fullmatch(replaced.headers["x-request-id"]), forged


def test_the_lanes_log_lines_carry_the_request_id(harness: Harness, log_lines: io.StringIO) -> None:
    answer = harness.api.post(f"/notify/wechatpay/v3/{MCHID}", content=b'{"id": "x"}',
                              headers={"X-Request-Id": "nginx-0123456789abcdef"})
    assert answer.headers["x-request-id"] == "nginx-0123456789abcdef"
    lines = [r for r in _records(log_lines) if r["logger"] == "weipay.service.notification"]
    assert lines and all(r["request_id"] == "nginx-0123456789abcdef" for r in lines), lines
    assert "unverifiable v3 notification" in lines[0]["event"]
    # Outside a request, no id is left behind.
    logging.getLogger("weipay.test").warning("after the request")
    assert "request_id" not in _records(log_lines)[-1]


def test_a_500_names_its_request_id_in_the_body_the_header_and_the_log(
    bundle_template: Path, tmp_path: Path, log_lines: io.StringIO
) -> None:
    """The issue's case: a database that was never migrated; ``POST /v1/orders`` fails unexpectedly."""
    bundle = copy_bundle(bundle_template, tmp_path / "bundle")
    clock = ManualClock(time.time())
    sim = Simulator(bundle, clock=clock)
    settings = service_settings(f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}", bundle, sim)
    app = create_app(settings, wechat_transport=SimulatorTransport(sim), clock=clock)

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=SERVICE_URL) as client:
            return await client.post("/v1/orders", json={"merchant_order_no": "A1", "amount": 100,
                                                         "description": "tea"},
                                     headers={"Authorization": f"Bearer {API_KEY}"})

    try:
        answer = anyio.run(post)
    finally:
        app.state.api.close()
        sim.close()
    assert answer.status_code == 500
    request_id = answer.headers["x-request-id"]
    assert HEX_ID.fullmatch(request_id)
    error = answer.json()["error"]
    assert error["code"] == "internal_error"
    assert request_id in error["message"] and error["detail"] == {"request_id": request_id}
    failures = [r for r in _records(log_lines) if r["event"].startswith("unexpected error on POST /v1/orders")]
    assert len(failures) == 1 and failures[0]["request_id"] == request_id
    assert "Traceback" in failures[0]["exception"] and failures[0]["level"] == "error"
