"""The checkout bench runs from one command and counts what it must count.

- ``--quick`` on SQLite with 16 users starts the simulator, ``weipay serve``, the reference, the generator
  and the prober as separate processes, and every cell completes checkouts with zero unexpected errors and
  probe samples on both probe paths (~20 s);
- the generator against a stub server: a refused payment is an error, a ``503`` is a refusal counted apart,
  never an error, and a checkout whose second answer is a 201 counts (so "0 errors" in the table means
  something).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SRC = Path(__file__).resolve().parents[2] / "src"


def _environment() -> dict[str, str]:
    """This checkout's sources first, as in the README's test command."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}


def test_quick_run_completes_checkouts_without_errors(tmp_path: Path) -> None:
    out = tmp_path / "checkout.json"
    run = subprocess.run(
        [sys.executable, str(BENCH / "checkout_bench.py"), "--quick", "--backends", "sqlite", "--users", "16",
         "--json", str(out)],
        capture_output=True, text=True, timeout=180, env=_environment(),
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "checkouts/s" in run.stdout and "targets (issue #10)" in run.stdout
    rows = json.loads(out.read_text())["rows"]
    assert {row["target"] for row in rows} == {"weipay", "reference"}
    for row in rows:
        assert (row["backend"], row["latency_ms"], row["users"]) == ("sqlite", 0, 16)
        assert row["checkouts"] > 0 and row["checkouts_per_s"] > 0, row
        assert row["unexpected_errors"] == 0 and row["rejected_503"] == 0, row
        # The window opened after the 1 s warm-up (timed in another process, hence the rounding allowance).
        assert row["service_cpu_ms_per_checkout"] > 0 and row["warmup_s"] >= 0.95, row
        assert row["get_order_probes"] > 0 and row["healthz_probes"] > 0, row
    assert next(row for row in rows if row["target"] == "weipay")["probe_order_paid"]


class _Stub(BaseHTTPRequestHandler):
    """Orders are created; payments answer what the test sets (keep-alive, as the generator expects)."""

    protocol_version = "HTTP/1.1"
    payment_status = 201
    extra_headers: dict[str, str] = {}

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/orders":
            self._answer(201, {"id": "or1"}, {})
        else:
            self._answer(self.payment_status, {"code_url": "weixin://x"}, self.extra_headers)

    def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _generate(server: ThreadingHTTPServer, window_file: Path) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, str(BENCH / "checkout_load.py"), "generate", "--port", str(server.server_address[1]),
         "--api-key", "k", "--go-at", repr(time.monotonic() + 0.5), "--warmup-s", "0", "--duration-s", "1",
         "--users", "2", "--max-warmup-s", "5", "--window-file", str(window_file)],
        capture_output=True, text=True, timeout=60, env=_environment(),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    line = next(line for line in run.stdout.splitlines() if line.startswith("RESULT_JSON "))
    return dict(json.loads(line.removeprefix("RESULT_JSON ")))


@pytest.mark.parametrize(
    ("status", "headers", "expect"),
    [
        (201, {}, {"checkouts": True, "errors": {}, "rejected_503": False}),
        (422, {}, {"checkouts": False, "errors": {"payment 422"}, "rejected_503": False}),
        (503, {"Retry-After": "0"}, {"checkouts": False, "errors": {}, "rejected_503": True}),
    ],
)
def test_generator_counts_checkouts_errors_and_refusals_apart(
    stub: ThreadingHTTPServer, status: int, headers: dict[str, str], expect: dict[str, Any], tmp_path: Path
) -> None:
    _Stub.payment_status, _Stub.extra_headers = status, headers
    result = _generate(stub, tmp_path / "window.json")
    assert (result["checkouts"] > 0) == expect["checkouts"], result
    assert set(result["errors"]) == set(expect["errors"]), result
    assert (result["rejected_503"] > 0) == expect["rejected_503"], result
