"""The one worker loop (``jobs.poll_loop``, what ``weipay worker`` and the demo run) over the collaborators that
``bootstrap`` builds: it runs due jobs until stopped, and a failing pass does not end it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from weipay.service.jobs import http_sender, poll_loop


def _run_until(run_pass: Callable[[], int], done: Callable[[], bool], errors: list[Exception]) -> threading.Thread:
    stop = threading.Event()
    worker = threading.Thread(target=poll_loop, args=(run_pass,),
                              kwargs={"stop": stop, "poll_s": 0.01, "on_error": errors.append})  # fmt: skip
    worker.start()
    deadline = time.monotonic() + 20
    while not done() and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    worker.join(5)
    return worker


def test_the_loop_runs_due_jobs_until_stopped(harness_factory: Any) -> None:
    harness = harness_factory(webhook_url="https://shop.test/hook", webhook_secret="whsec-test-0123456789abcdef")
    delivered: list[httpx.Request] = []

    def merchant_system(request: httpx.Request) -> httpx.Response:
        delivered.append(request)
        return httpx.Response(200)

    services = harness.app.state.services
    services.webhook_sender = http_sender(transport=httpx.MockTransport(merchant_system))
    order = harness.create_order(800)
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native"}).json()  # fmt: skip
    harness.pay(payment)
    harness.deliver()

    errors: list[Exception] = []
    worker = _run_until(services.run_due_jobs, lambda: bool(delivered), errors)
    assert not worker.is_alive() and errors == []
    assert [request.url.path for request in delivered] == ["/hook"]  # the paid webhook, by the loop's pass


def test_a_failing_pass_is_reported_and_the_loop_goes_on(harness: Any) -> None:
    services = harness.app.state.services
    passes: list[int] = []

    def flaky_pass() -> int:
        passes.append(1)
        if len(passes) == 1:
            raise ConnectionError("database briefly unavailable")
        return services.run_due_jobs()

    errors: list[Exception] = []
    worker = _run_until(flaky_pass, lambda: len(passes) >= 3, errors)
    assert not worker.is_alive() and len(passes) >= 3
    assert [type(error) for error in errors] == [ConnectionError]
