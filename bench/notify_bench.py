"""Notification hot path: the service's notify endpoint against a bare verify + decrypt + one CAS UPDATE handler.

Three kinds of process, so the load generator never shares an interpreter with the server:

- the server: ``uvicorn`` (uvloop + httptools, one worker) in a subprocess, serving either the **bare**
  handler (raw ASGI: verify and decrypt on the event loop, then one ``UPDATE payment_attempts … WHERE
  status = 'pending'`` in its own transaction on a worker thread) or the **service** (``create_app`` and
  its ``POST /notify/wechatpay/v3/{mchid}``); both open the database through the same engine factory
  (SQLite: WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE``; PostgreSQL: psycopg 3, READ COMMITTED);
- the load generator: Debian's ``wrk`` (``apt-get install wrk``) with ``bench/notify.lua``, 64 connections
  on loopback for a fixed duration, each request a different pre-signed notification (more are signed than
  can be sent; a run that runs out says so in ``extra``);
- this driver: seeds two fresh databases with the same pending attempts, signs the notifications
  (a process pool, before the clock starts), starts the servers one after the other, runs wrk, checks
  that every attempt was applied, and prints throughput, p50/p99 and the ratio service/bare.

    .venv/bin/python bench/notify_bench.py                       # SQLite (+ PostgreSQL if WEIPAY_TEST_POSTGRES_URL)
    .venv/bin/python bench/notify_bench.py --count 20000 --runs 3 --concurrency 64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

MCHID = "1230000109"
APPID = "wxd678efh567hg6787"
PUBLIC_KEY_ID = "PUB_KEY_ID_0000000000000024101100397200000006"
API_V3_KEY = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
LUA = Path(__file__).with_name("notify.lua")
WRK_THREADS = 2


# -- the bare handler (runs in the server subprocess) ----------------------------------------------------------
def bare_app(database_url: str, keys_dir: str) -> Any:
    """Raw ASGI: verify + decrypt on the loop, one compare-and-set UPDATE in a thread; nothing else."""
    from weipay.sdk.crypto import load_public_key
    from weipay.sdk.v3.notify import parse_notification
    from weipay.sdk.v3.verifier import Verifier
    from weipay.service.db import create_engine_for

    verifier = Verifier()
    verifier.add_public_key(PUBLIC_KEY_ID, load_public_key((Path(keys_dir) / "wechatpay_public_key.pem").read_bytes()))
    engine = create_engine_for(database_url, pool_size=16)
    # SQLite has one writer: one thread owns the writes (no busy-handler sleeps); PostgreSQL gets a pool.
    executor = ThreadPoolExecutor(1 if engine.dialect.name == "sqlite" else 16)
    update = sa.text(
        "UPDATE payment_attempts SET status = 'succeeded', transaction_id = :tid, updated_at = :now "
        "WHERE mchid = :mchid AND out_trade_no = :otn AND status = 'pending'"
    )
    key = API_V3_KEY.encode()

    def write(transaction: Any) -> None:
        with engine.connect() as conn, conn.begin():
            conn.execute(update, {"tid": transaction.transaction_id, "now": time.time(), "mchid": transaction.mchid,
                                  "otn": transaction.out_trade_no})

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            notification = parse_notification(verifier, key, headers, b"".join(chunks))
            status = 204
        except Exception:
            status = 401
        if status == 204:
            await asyncio.get_running_loop().run_in_executor(executor, write, notification.transaction)  # type: ignore[union-attr]
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def service_app(database_url: str, keys_dir: str) -> Any:
    """The real thing: ``create_app`` with this merchant."""
    from weipay.service.api import create_app
    from weipay.service.settings import load_settings

    settings = load_settings(environ={}, overrides=_settings(database_url, Path(keys_dir)))
    return create_app(settings)


def _settings(database_url: str, keys_dir: Path) -> dict[str, Any]:
    return {
        "database_url": database_url,
        "public_base_url": "http://127.0.0.1:1",
        "merchants": [{
            "mchid": MCHID,
            "api_v3_key": API_V3_KEY,
            "private_key_path": str(keys_dir / "apiclient_key.pem"),
            "merchant_serial_no": "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",
            "wechatpay_public_key_path": str(keys_dir / "wechatpay_public_key.pem"),
            "wechatpay_public_key_id": PUBLIC_KEY_ID,
            "appids": {"miniprogram": APPID},
            "api_keys": ["bench-key"],
        }],
    }


def serve(kind: str, database_url: str, keys_dir: str, port: int) -> None:
    """Server subprocess entry point: one uvicorn worker, uvloop + httptools, start-up heap frozen, for both."""
    import uvicorn

    from weipay.service.api import freeze_startup_heap

    app = bare_app(database_url, keys_dir) if kind == "bare" else service_app(database_url, keys_dir)
    freeze_startup_heap()  # as ``weipay serve`` does, for both variants
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off",
                loop="uvloop", http="httptools", backlog=1024)


# -- the driver ------------------------------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    count: int
    throughput: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    errors: int
    applied: int
    extra: int
    server_cpu_us: float  # the server process's CPU time (user + system) per answered request
    junk: dict[str, Any] | None = None  # what bench/junk_flood.py sent meanwhile, and how it was answered


def write_keys(directory: Path) -> bytes:
    wechat = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    merchant = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (directory / "wechatpay_public_key.pem").write_bytes(
        wechat.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    key_path = directory / "apiclient_key.pem"
    key_path.write_bytes(
        merchant.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return wechat.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())


def seed(database_url: str, order_ids: list[str]) -> list[str]:
    """One pending order with one pending v3 attempt per id (bulk insert); returns the out_trade_nos."""
    from weipay.service.db import create_engine_for, upgrade
    from weipay.service.db.tables import orders, payment_attempts
    from weipay.service.domain import new_attempt_id, out_trade_no

    upgrade(database_url)
    now = time.time()
    order_rows, attempt_rows, numbers = [], [], []
    for index, order_id in enumerate(order_ids):
        number = out_trade_no(order_id, 1)
        order_rows.append({
            "id": order_id, "mchid": MCHID, "merchant_order_no": f"B-{order_id}-{index}", "amount_fen": 100,
            "currency": "CNY", "description": "bench", "status": "pending", "paid_fen": 0, "refunded_fen": 0,
            "reserved_fen": 0, "created_at": now, "updated_at": now, "expires_at": now + 7200,
            "request_hash": "x" * 64,
        })  # fmt: skip
        attempt_rows.append({
            "id": new_attempt_id(), "order_id": order_id, "seq": 1, "mchid": MCHID, "appid": APPID,
            "out_trade_no": number, "api": "v3", "channel": "native", "status": "pending", "amount_fen": 100,
            "currency": "CNY", "description": "bench", "notify_url": "http://127.0.0.1:1/notify",
            "time_expire": now + 7200, "created_at": now, "updated_at": now,
        })  # fmt: skip
        numbers.append(number)
    engine = create_engine_for(database_url)
    with engine.connect() as conn, conn.begin():
        conn.execute(orders.insert(), order_rows)
        conn.execute(payment_attempts.insert(), attempt_rows)
    if engine.dialect.name == "postgresql":
        # A production table has planner statistics (autovacuum); a freshly bulk-loaded one has none yet.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    return numbers


_KEYS: dict[bytes, Any] = {}


def _sign_one(job: tuple[bytes, str]) -> str:
    from weipay.sdk.crypto import load_private_key
    from weipay.sdk.v3.wechat_side import build_notification

    key_pem, number = job
    if key_pem not in _KEYS:  # loading checks the RSA key (tens of ms): once per process
        _KEYS[key_pem] = load_private_key(key_pem)
    resource = {
        "appid": APPID, "mchid": MCHID, "out_trade_no": number, "transaction_id": "42" + secrets.token_hex(13),
        "trade_type": "NATIVE", "trade_state": "SUCCESS", "trade_state_desc": "ok", "bank_type": "OTHERS",
        "success_time": "2026-11-23T09:20:00+08:00", "payer": {"openid": "o-bench"},
        "amount": {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"},
    }  # fmt: skip
    headers, body = build_notification(
        private_key=_KEYS[key_pem], serial=PUBLIC_KEY_ID, api_v3_key=API_V3_KEY.encode(),
        notification_id=str(uuid.uuid4()), create_time="2026-11-23T09:20:00+08:00",
        event_type="TRANSACTION.SUCCESS", summary="支付成功", original_type="transaction",
        associated_data="transaction", plaintext=json.dumps(resource).encode(), resource_nonce=secrets.token_hex(6),
        timestamp=str(int(time.time())), nonce=secrets.token_hex(16),
    )  # fmt: skip
    lower = {k.lower(): v for k, v in headers.items()}
    fields = [lower["wechatpay-timestamp"], lower["wechatpay-nonce"], lower["wechatpay-signature"],
              lower["wechatpay-serial"], lower["wechatpay-signature-type"], body.decode()]
    return "\t".join(fields)


def sign_all(key_pem: bytes, numbers: list[str], path: Path) -> None:
    """One line per notification, for notify.lua; signed in a process pool before any clock starts."""
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 2) as pool:
        lines = pool.map(_sign_one, [(key_pem, n) for n in numbers], chunksize=64)
    path.write_text("\n".join(lines) + "\n")


def start_server(kind: str, database_url: str, keys_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--database-url", database_url, "--keys-dir", str(keys_dir),
         "--port", str(port)],
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
            return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{kind} server did not start")


def run_wrk(url: str, messages: Path, concurrency: int, max_s: int) -> dict[str, Any]:
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{concurrency}", f"-d{max_s}s", "--timeout", "10s", "-s", str(LUA),
               url, "--", str(messages), str(WRK_THREADS)]
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=max_s + 30).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK_JSON "))
    return dict(json.loads(line.removeprefix("WRK_JSON ")))


def count_applied(database_url: str, numbers: list[str]) -> int:
    from weipay.service.db import create_engine_for

    engine = create_engine_for(database_url)
    with engine.connect() as conn:
        value = conn.execute(sa.text("SELECT count(*) FROM payment_attempts WHERE status = 'succeeded'")).scalar_one()
    engine.dispose()
    return int(value)


def start_junk_flood(url: str, rate: float, duration_s: int) -> subprocess.Popen[str] | None:
    """Forged notifications at ``rate`` per second from their own process, for the whole measured run."""
    if rate <= 0:
        return None
    flood = Path(__file__).with_name("junk_flood.py")
    return subprocess.Popen([sys.executable, str(flood), "--url", url, "--rate", str(rate), "--duration",
                             str(duration_s)], stdout=subprocess.PIPE, text=True)  # fmt: skip


def junk_result(process: subprocess.Popen[str] | None) -> dict[str, Any] | None:
    if process is None:
        return None
    output, _ = process.communicate(timeout=60)
    line = next(line for line in output.splitlines() if line.startswith("JUNK_JSON "))
    return dict(json.loads(line.removeprefix("JUNK_JSON ")))


def run_one(kind: str, database_url: str, keys_dir: Path, key_pem: bytes, count: int, concurrency: int,
            duration_s: int, junk_rate: float = 0.0) -> Result:
    from weipay.service.domain import new_order_id

    warm_ids = [new_order_id() for _ in range(concurrency * 4)]
    ids = [new_order_id() for _ in range(count)]
    warm_numbers = seed(database_url, warm_ids)
    numbers = seed(database_url, ids)
    warm_file, message_file = keys_dir / f"{kind}-warm.tsv", keys_dir / f"{kind}.tsv"
    sign_all(key_pem, warm_numbers, warm_file)
    sign_all(key_pem, numbers, message_file)
    process, port = start_server(kind, database_url, keys_dir)
    url = f"http://127.0.0.1:{port}/notify/wechatpay/v3/{MCHID}"
    try:
        run_wrk(url, warm_file, concurrency, 2)
        cpu_before = process_cpu_s(process.pid)
        flood = start_junk_flood(url, junk_rate, duration_s)
        stats = run_wrk(url, message_file, concurrency, duration_s)
        cpu_s = process_cpu_s(process.pid) - cpu_before
        junk = junk_result(flood)
    finally:
        process.terminate()
        process.wait(10)
    applied = count_applied(database_url, numbers) - len(warm_numbers)
    return Result(kind, stats["requests"], stats["requests"] / (stats["duration_us"] / 1e6), stats["p50_us"] / 1000,
                  stats["p99_us"] / 1000, stats["non2xx"], stats["socket_errors"] + stats["timeouts"], applied,
                  stats["extra"], cpu_s / max(stats["requests"], 1) * 1e6, junk)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (Linux ``/proc``), all threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fresh_database(backend: str, workdir: Path, label: str) -> tuple[str, Any]:
    if backend == "sqlite":
        path = workdir / f"{label}-{secrets.token_hex(3)}.sqlite3"
        return f"sqlite:///{path}", lambda: [p.unlink(missing_ok=True) for p in workdir.glob(path.name + "*")]
    admin_url = os.environ["WEIPAY_TEST_POSTGRES_URL"]
    name = f"weipay_bench_{label}_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def line(result: Result) -> str:
    return (f"  {result.name:8s} {result.throughput:7.0f}/s  p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms"
            f"  answered {result.count}  non-2xx {result.non2xx}  socket errors {result.errors}"
            f"  applied {result.applied}  server CPU {result.server_cpu_us:4.0f} µs/req"
            f"{'  RAN OUT: ' + str(result.extra) + ' duplicates' if result.extra else ''}"
            f"{'  junk ' + json.dumps(result.junk) if result.junk else ''}")


def main(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    backends = args.backends or (["sqlite"] + (["postgresql"] if os.environ.get("WEIPAY_TEST_POSTGRES_URL") else []))
    kinds = args.kinds
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        key_pem = write_keys(workdir)
        for backend in backends:
            runs: dict[str, list[Result]] = {kind: [] for kind in kinds}
            print(f"{backend}: {args.duration} s per run, {args.concurrency} connections, {args.runs} runs "
                  f"({args.count} notifications signed per run)", flush=True)
            for run in range(args.runs):
                for kind in kinds:
                    url, drop = fresh_database(backend, workdir, kind)
                    try:
                        result = run_one(kind, url, workdir, key_pem, args.count, args.concurrency, args.duration,
                                         args.junk_rate)
                    finally:
                        drop()
                    runs[kind].append(result)
                    print(f" run {run + 1}" + line(result), flush=True)
            medians = {kind: statistics.median(r.throughput for r in results) for kind, results in runs.items()}
            for kind, results in runs.items():
                print(f"  median {kind:8s} {medians[kind]:7.0f}/s  p50 "
                      f"{statistics.median(r.p50_ms for r in results):6.1f} ms  p99 "
                      f"{statistics.median(r.p99_ms for r in results):6.1f} ms  server CPU "
                      f"{statistics.median(r.server_cpu_us for r in results):4.0f} µs/req", flush=True)
            if "bare" in medians and "service" in medians:
                print(f"  ratio service/bare (medians) = {medians['service'] / medians['bare']:.2f}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=40000, help="notifications signed per run (more than sent)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--backends", nargs="*", choices=["sqlite", "postgresql"])
    parser.add_argument("--kinds", nargs="*", default=["bare", "service"], choices=["bare", "service"])
    parser.add_argument("--junk-rate", type=float, default=0.0,
                        help="forged notifications per second sent meanwhile (bench/junk_flood.py); P5 asks 1000")
    parser.add_argument("--serve", choices=["bare", "service"], help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--keys-dir", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.serve:
        serve(parsed.serve, parsed.database_url, parsed.keys_dir, parsed.port)
    else:
        main(parsed)
