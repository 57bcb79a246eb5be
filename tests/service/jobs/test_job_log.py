"""The worker logs every job run's outcome as a sentence and as fields: done (with its duration), later (still
waiting), failed (the error, the host that failed, the attempt, when it runs again); JSON lines in production."""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from weipay.service.jobs import http_sender, run_due_jobs
from weipay.service.logs import configure_logging
from weipay.service.usecases import CreateOrder, MerchantConfig, create_order, start_payment

from ..core_harness import MCHID


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging("INFO", "json", stream=buffer)
    yield buffer
    root.handlers[:] = handlers
    root.setLevel(level)


def _job_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    return [line for line in lines if line["logger"] == "weipay.service.jobs"]


def _paid_order_with_webhook(core: Any, merchant_system: Any) -> tuple[str, MerchantConfig, Any]:
    merchant = MerchantConfig(MCHID, core.merchant.appids, webhook_url="https://shop.test:8443/hooks/weipay?token=s3",
                              webhook_secret="whsec-0123456789abcdef")  # fmt: skip
    sender = http_sender(transport=httpx.MockTransport(merchant_system))
    order = create_order(core.uow, core.merchant, CreateOrder("m-log", 800, "tea"), clock=core.clock)
    start = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "app", "v3")
    core.pay(start.attempt.out_trade_no)
    return order.id, merchant, sender


def test_a_failed_delivery_names_host_error_attempt_and_next_run_then_success_logs_too(
    core: Any, json_log: io.StringIO
) -> None:
    answers = iter(["refuse", 200])

    def merchant_system(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if answer == "refuse":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return httpx.Response(200)

    order_id, merchant, sender = _paid_order_with_webhook(core, merchant_system)
    run_due_jobs(core.uow, core.gateway, core.clock, 50, merchants={MCHID: merchant}, webhook_sender=sender,
                 kinds=["deliver_webhook"])  # fmt: skip
    (failed,) = _job_lines(json_log)
    assert failed["level"] == "warning" and failed["result"] == "failed"
    assert failed["job_kind"] == "deliver_webhook" and failed["order_id"] == order_id
    assert failed["error"] == "ConnectError" and failed["target_host"] == "shop.test:8443"
    assert (failed["attempt"], failed["max_attempts"], failed["retry_in_s"]) == (1, 12, 60.0)
    assert failed["next_run_at"].endswith("+00:00") and failed["duration_ms"] >= 0
    assert f"job {failed['job_id']} (deliver_webhook, order {order_id}) failed (ConnectError) at shop.test:8443" \
        in failed["event"]
    assert "attempt 1 of 12" in failed["event"] and "runs again in 60 s" in failed["event"]
    assert "token" not in json_log.getvalue() and "hooks" not in json_log.getvalue()  # never the URL's path/query

    core.clock.advance(61)
    run_due_jobs(core.uow, core.gateway, core.clock, 50, merchants={MCHID: merchant}, webhook_sender=sender,
                 kinds=["deliver_webhook"])  # fmt: skip
    done = _job_lines(json_log)[-1]
    assert (done["level"], done["result"], done["job_id"]) == ("info", "done", failed["job_id"])
    assert done["event"].startswith(f"job {failed['job_id']} (deliver_webhook, order {order_id}) done in ")
    assert "error" not in done and "target_host" not in done


def test_an_unpaid_attempts_query_logs_when_it_runs_again(core: Any, caplog: pytest.LogCaptureFixture) -> None:
    order = create_order(core.uow, core.merchant, CreateOrder("m-wait", 800, "tea"), clock=core.clock)
    start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", "v3")
    core.advance(15)  # past notify_expected_after_s: the query job is due
    with caplog.at_level(logging.INFO, logger="weipay.service.jobs"):
        run_due_jobs(core.uow, core.gateway, core.clock, 50, kinds=["query_attempt"])
    (record,) = [r for r in caplog.records if r.name == "weipay.service.jobs"]
    assert record.levelno == logging.INFO
    assert record.__dict__["result"] == "later" and record.__dict__["job_kind"] == "query_attempt"
    assert record.__dict__["retry_in_s"] > 0
    assert "not finished: attempt still " in record.getMessage() and "runs again in" in record.getMessage()


def test_console_format_is_readable_lines() -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging("INFO", "console", stream=buffer)
    try:
        logging.getLogger("weipay.service.jobs").warning("job 9 (deliver_webhook) failed", extra={"job_id": 9})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    line = buffer.getvalue()
    assert "job 9 (deliver_webhook) failed" in line and "job_id=9" in line and "warning" in line
    assert not line.lstrip().startswith("{") and "\x1b[" not in line  # not JSON, no colours off a terminal


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_a_logged_traceback_shows_no_local_variables(log_format: str) -> None:
    """A traceback's frames hold SQL parameters, openids and keys in their locals: no format may print them."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging("INFO", log_format, stream=buffer)  # type: ignore[arg-type]

    key, openid = "key-" + secrets.token_hex(8), "o-" + secrets.token_hex(8)  # not in any source line shown

    def fails(payer_openid: str) -> None:
        api_v3_key = key.upper()  # noqa: F841  (a local a rich traceback would print)
        raise RuntimeError("boom")

    try:
        try:
            fails(openid)
        except RuntimeError:
            logging.getLogger("weipay.service.api").exception("unexpected error")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    text = buffer.getvalue()
    assert "boom" in text and "fails" in text  # the traceback is there...
    assert key.upper() not in text and openid not in text  # ...its locals are not
