"""What one operation costs the service: the per-core figures docs/scaling.md sizes deployments from.

Runs ``weipay simulator serve``, ``weipay serve`` and ``weipay worker`` as their own processes on a fresh
database, drives one operation kind at a time, one request at a time (so that a figure is the work of that
operation, not of queueing), and reads the CPU time (user + system, all threads) the service and the worker
spent, from ``/proc/<pid>/stat``. On PostgreSQL it also reads the write transactions
(transaction ids) and the WAL written (``pg_current_wal_lsn``); both are cluster-wide: run it on a quiet server.

    .venv/bin/python bench/capacity.py                       # SQLite, 300 of each
    .venv/bin/python bench/capacity.py --backend postgresql  # needs WEIPAY_TEST_POSTGRES_URL
    .venv/bin/python bench/capacity.py --json capacity.json

Operations: create order; start a payment (native, API v3; one WeChat call); read an order (GET); the payment
notification WeChat then sends (verified, decrypted, applied, webhook scheduled); a refund (one WeChat call);
the refund's notification; health check; and, in the worker, a webhook delivery (to a local receiver).
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checkout_processes import (
    Process,
    free_port,
    fresh_database,
    weipay_command,
)

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class _Receiver(http.server.BaseHTTPRequestHandler):
    """The merchant's business system: accepts every webhook."""

    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        type(self).received += 1
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def wait_for(what: str, check: Callable[[], bool], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


class Database:
    """Counters of the service's database server (PostgreSQL): write transactions and WAL bytes, cluster-wide."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)
        self.postgres = self.engine.dialect.name == "postgresql"

    def counters(self) -> tuple[int, int]:
        if not self.postgres:
            return 0, 0
        with self.engine.connect() as conn:
            # The next transaction id: it grows by one per transaction that wrote (reads take none). Statistics
            # counters (pg_stat_database) would lag: backends report them at most once a second.
            commits = conn.execute(sa.text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")).scalar_one()
            wal = conn.execute(sa.text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")).scalar_one()
        return int(commits), int(wal)

    def count(self, sql: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.text(sql)).scalar_one())


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from weipay.simulator.bundle import init_bundle

    database_url, drop = fresh_database(args.backend, workdir, "capacity")
    processes: list[Process] = []
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        sim_port, service_port = free_port(), free_port()
        bundle = workdir / "sim"
        account = init_bundle(bundle, port=sim_port, https_port=free_port())
        sim_url, service_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{service_port}"
        simulator = Process("simulator", [*weipay_command(), "simulator", "serve", str(bundle)], workdir)
        processes.append(simulator)
        simulator.wait_http(sim_url + "/simulator/faults")
        api_key = "wpk_capacity_0123456789abcdef"
        config = workdir / "weipay.json"
        config.write_text(json.dumps({
            "database_url": database_url, "public_base_url": service_url,
            "merchants": [{
                "mchid": str(account["mchid"]), "bundle_dir": str(bundle / "merchant"), "api_keys": [api_key],
                "webhook_url": f"http://127.0.0.1:{receiver.server_address[1]}/hook",
                "webhook_secret": "capacity-webhook-secret-0123456789",
                "wechat": {"base_url": sim_url, "login_base_url": sim_url},
            }],
        }))  # fmt: skip
        service = Process("service", [*weipay_command(), "serve", "--config", str(config), "--port",
                                      str(service_port), "--migrate"], workdir)  # fmt: skip
        processes.append(service)
        service.wait_http(service_url + "/healthz")
        worker = Process("worker", [*weipay_command(), "worker", "--config", str(config), "--poll-interval",
                                    "0.1"], workdir)  # fmt: skip
        processes.append(worker)
        db = Database(database_url)
        return run_operations(args, service.pid, worker.pid, service_url, sim_url, api_key, db)
    finally:
        for process in reversed(processes):
            process.stop()
        receiver.shutdown()
        drop()


def run_operations(
    args: argparse.Namespace, pid: int, worker_pid: int, url: str, sim_url: str, api_key: str, db: Database
) -> dict[str, Any]:
    n = args.count
    rows: dict[str, dict[str, float]] = {}
    headers = {"Authorization": f"Bearer {api_key}"}
    client = httpx.Client(base_url=url, headers=headers, timeout=30)
    control = httpx.Client(base_url=sim_url, timeout=30)

    def phase(name: str, run: Callable[[], None], *, calls: int, process: int = pid) -> None:
        started_cpu, (commits, wal) = cpu_s(process), db.counters()
        started = time.perf_counter()
        run()
        elapsed = time.perf_counter() - started
        spent = cpu_s(process) - started_cpu
        after_commits, after_wal = db.counters()
        rows[name] = {"cpu_ms": spent / calls * 1000, "wall_ms": elapsed / calls * 1000, "count": calls,
                      "commits": (after_commits - commits) / calls, "wal_bytes": (after_wal - wal) / calls}
        print(f"{name:34} {rows[name]['cpu_ms']:6.2f} ms CPU  {rows[name]['commits']:5.1f} write tx  "
              f"{rows[name]['wal_bytes']:8.0f} WAL bytes", flush=True)  # fmt: skip

    for i in range(30):  # warm-up: imports, pools, prepared statements
        order = client.post("/v1/orders", json={"merchant_order_no": f"WARM-{i}", "amount": 100,
                                                "description": "warm-up"}).json()  # fmt: skip
        client.post(f"/v1/orders/{order['id']}/payments", json={"channel": "native", "api": "v3"})
        client.get(f"/v1/orders/{order['id']}")
    ids: list[str] = []
    code_urls: list[str] = []

    def create() -> None:
        for i in range(n):
            answer = client.post("/v1/orders", json={"merchant_order_no": f"CAP-{i:05d}", "amount": 1000,
                                                     "description": "capacity"})  # fmt: skip
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])

    def start() -> None:
        for order_id in ids:
            answer = client.post(f"/v1/orders/{order_id}/payments", json={"channel": "native", "api": "v3"})
            assert answer.status_code == 201, answer.text
            code_urls.append(answer.json()["code_url"])

    def read() -> None:
        for order_id in ids:
            assert client.get(f"/v1/orders/{order_id}").status_code == 200

    def health() -> None:
        for _ in ids:
            assert client.get("/healthz").status_code == 200

    paid_before = db.count("SELECT count(*) FROM orders WHERE status = 'paid'")

    def notifications() -> None:
        for code_url in code_urls:  # the payer pays; WeChat notifies the service at once
            assert control.post("/simulator/payments", json={"code_url": code_url}).status_code == 200
        wait_for("the payment notifications",
                 lambda: db.count("SELECT count(*) FROM orders WHERE status = 'paid'") >= paid_before + n)  # fmt: skip

    refund_ids: list[str] = []

    def refund() -> None:
        for i, order_id in enumerate(ids):
            body = {"amount": 300, "merchant_refund_no": f"CR-{i:05d}"}
            answer = client.post(f"/v1/orders/{order_id}/refunds", json=body)
            assert answer.status_code == 201, answer.text
            refund_ids.append(answer.json()["id"])

    def refund_notifications() -> None:
        # The simulator ends refunds after its processing time and notifies; the service applies each.
        wait_for("the refund notifications",
                 lambda: db.count("SELECT count(*) FROM refunds WHERE status = 'succeeded'") >= n, 300)  # fmt: skip

    phase("create order", create, calls=n)
    phase("start payment (native, v3)", start, calls=n)
    phase("read order (GET)", read, calls=n)
    phase("health check", health, calls=n)
    worker_started = cpu_s(worker_pid)
    phase("payment notification", notifications, calls=n)
    phase("refund request", refund, calls=n)
    phase("refund notification", refund_notifications, calls=n)
    # The worker: order.paid, refund.succeeded webhooks and the safety-net queries, all due by now or soon.
    wait_for("the worker's webhooks", lambda: _Receiver.received >= 2 * n, 300)
    time.sleep(2)
    worker_cpu = cpu_s(worker_pid) - worker_started
    done = db.count("SELECT count(*) FROM jobs WHERE status = 'done'")
    rows["worker job (all kinds)"] = {"cpu_ms": worker_cpu / max(done, 1) * 1000, "wall_ms": 0.0, "count": done,
                                      "commits": 0.0, "wal_bytes": 0.0}  # fmt: skip
    print(f"{'worker job (all kinds)':34} {rows['worker job (all kinds)']['cpu_ms']:6.2f} ms CPU  ({done} jobs, "
          f"{_Receiver.received} webhooks delivered)", flush=True)  # fmt: skip
    client.close()
    control.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--count", type=int, default=300, help="operations of each kind (default 300)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if args.backend == "postgresql" and not os.environ.get("WEIPAY_TEST_POSTGRES_URL"):
        parser.error("--backend postgresql needs WEIPAY_TEST_POSTGRES_URL (an admin URL; a database is created)")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="weipay-capacity-") as tmp:
        print(f"capacity, {args.backend}, {args.count} of each, load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} CPUs", flush=True)  # fmt: skip
        rows = measure(args, Path(tmp))
    if args.json:
        args.json.write_text(json.dumps({"backend": args.backend, "count": args.count, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
