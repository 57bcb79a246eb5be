"""Notification hot path: the service's notify endpoint against a bare verify + decrypt + one CAS UPDATE handler.

Both run in a uvicorn subprocess on loopback (same settings), on the same database schema, seeded with the
same pending attempts. 64 concurrent httpx.AsyncClient senders deliver signed v3 TRANSACTION.SUCCESS
notifications (one per attempt) and record each latency. Prints throughput, p50 and p99 for both and
the ratio (issue item 7 asks for ≥ 0.5 and p99 ≤ 100 ms).

    .venv/bin/python bench/notify_bench.py                  # SQLite (and PostgreSQL if WEIPAY_TEST_POSTGRES_URL)
    .venv/bin/python bench/notify_bench.py --count 4000 --concurrency 64
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

MCHID = "1230000109"
APPID = "wxd678efh567hg6787"
PUBLIC_KEY_ID = "PUB_KEY_ID_0000000000000024101100397200000006"
API_V3_KEY = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"


# -- the bare handler (runs in the server subprocess) ----------------------------------------------------------
def bare_app(database_url: str, keys_dir: str) -> Any:
    """ASGI: verify, decrypt, one compare-and-set UPDATE; nothing else."""
    import anyio
    import anyio.to_thread

    from weipay.sdk.crypto import load_public_key
    from weipay.sdk.v3.notify import parse_notification
    from weipay.sdk.v3.verifier import Verifier
    from weipay.service.db import create_engine_for

    verifier = Verifier()
    verifier.add_public_key(PUBLIC_KEY_ID, load_public_key((Path(keys_dir) / "wechatpay_public_key.pem").read_bytes()))
    engine = create_engine_for(database_url)
    # SQLite has one writer: queue writers on a lock instead of letting them spin in the busy handler.
    write_lock = threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
    update = sa.text(
        "UPDATE payment_attempts SET status = 'succeeded', transaction_id = :tid, updated_at = :now "
        "WHERE mchid = :mchid AND out_trade_no = :otn AND status = 'pending'"
    )

    limiter = anyio.CapacityLimiter(8)  # the same thread budget as the service's notify path

    def handle(headers: dict[str, str], body: bytes) -> int:
        try:
            notification = parse_notification(verifier, API_V3_KEY.encode(), headers, body)
        except Exception:
            return 401
        transaction = notification.transaction  # type: ignore[union-attr]
        with write_lock, engine.connect() as conn, conn.begin():
            conn.execute(update, {"tid": transaction.transaction_id, "now": time.time(), "mchid": transaction.mchid,
                                  "otn": transaction.out_trade_no})
        return 204

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
        status = await anyio.to_thread.run_sync(handle, headers, b"".join(chunks), limiter=limiter)
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
    """Server subprocess entry point."""
    import uvicorn

    app = bare_app(database_url, keys_dir) if kind == "bare" else service_app(database_url, keys_dir)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")


# -- the driver ------------------------------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    count: int
    elapsed_s: float
    latencies_s: list[float]
    statuses: dict[int, int]

    @property
    def throughput(self) -> float:
        return self.count / self.elapsed_s

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies_s)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def write_keys(directory: Path) -> Any:
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
    return wechat


def seed(database_url: str, count: int) -> list[str]:
    """``count`` pending orders, each with one pending v3 attempt; returns the out_trade_nos."""
    from weipay.service.db import SqlUnitOfWork, upgrade
    from weipay.service.domain import (
        ApiVersion,
        AttemptStatus,
        Channel,
        Order,
        OrderStatus,
        PaymentAttempt,
        new_attempt_id,
        new_order_id,
        out_trade_no,
    )  # fmt: skip

    upgrade(database_url)
    uow = SqlUnitOfWork.from_url(database_url)
    now = time.time()
    numbers = []
    batch = secrets.token_hex(3)
    with uow.write() as tx:
        for index in range(count):
            order_id = new_order_id()
            number = out_trade_no(order_id, 1)
            tx.orders.add(Order(
                id=order_id, mchid=MCHID, merchant_order_no=f"B{batch}-{index}", amount_fen=100, currency="CNY",
                description="bench", attach=None, payer_openid=None, status=OrderStatus.PENDING, paid_fen=0,
                refunded_fen=0, reserved_fen=0, paid_attempt_id=None, created_at=now, updated_at=now,
                expires_at=now + 7200, request_hash="x" * 64,
            ))  # fmt: skip
            tx.attempts.add(PaymentAttempt(
                id=new_attempt_id(), order_id=order_id, seq=1, mchid=MCHID, appid=APPID, out_trade_no=number,
                api=ApiVersion.V3, channel=Channel.NATIVE, status=AttemptStatus.PENDING, amount_fen=100,
                currency="CNY", description="bench", notify_url="http://127.0.0.1:1/notify", time_expire=now + 7200,
                created_at=now, updated_at=now,
            ))  # fmt: skip
            numbers.append(number)
    uow.dispose()
    return numbers


def notifications(wechat_key: Any, numbers: list[str]) -> list[tuple[dict[str, str], bytes]]:
    from weipay.sdk.v3.wechat_side import build_notification

    built = []
    for number in numbers:
        resource = {
            "appid": APPID, "mchid": MCHID, "out_trade_no": number, "transaction_id": "42" + secrets.token_hex(13),
            "trade_type": "NATIVE", "trade_state": "SUCCESS", "trade_state_desc": "ok", "bank_type": "OTHERS",
            "success_time": "2026-11-23T09:20:00+08:00", "payer": {"openid": "o-bench"},
            "amount": {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"},
        }  # fmt: skip
        built.append(build_notification(
            private_key=wechat_key, serial=PUBLIC_KEY_ID, api_v3_key=API_V3_KEY.encode(),
            notification_id=str(uuid.uuid4()), create_time="2026-11-23T09:20:00+08:00",
            event_type="TRANSACTION.SUCCESS", summary="支付成功", original_type="transaction",
            associated_data="transaction", plaintext=json.dumps(resource).encode(), resource_nonce=secrets.token_hex(6),
            timestamp=str(int(time.time())), nonce=secrets.token_hex(16),
        ))  # fmt: skip
    return built


async def deliver(url: str, messages: list[tuple[dict[str, str], bytes]], concurrency: int, name: str) -> Result:
    queue: asyncio.Queue[tuple[dict[str, str], bytes]] = asyncio.Queue()
    for message in messages:
        queue.put_nowait(message)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:

        async def sender() -> None:
            while not queue.empty():
                headers, body = queue.get_nowait()
                started = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Result(name, len(messages), elapsed, latencies, statuses)


def _deliver_share(job: tuple[str, list[tuple[dict[str, str], bytes]], int]) -> tuple[list[float], dict[int, int]]:
    url, messages, concurrency = job
    result = asyncio.run(deliver(url, messages, concurrency, "share"))
    return result.latencies_s, result.statuses


def deliver_from_processes(url: str, messages: list[tuple[dict[str, str], bytes]], concurrency: int,
                           processes: int, name: str) -> Result:
    """The same 64 senders, spread over a few client processes so the client is never the bottleneck."""
    import multiprocessing

    shares = [(url, messages[i::processes], concurrency // processes) for i in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        started = time.perf_counter()
        parts = pool.map(_deliver_share, shares)
        elapsed = time.perf_counter() - started
    latencies = [value for part, _ in parts for value in part]
    statuses: dict[int, int] = {}
    for _, counts in parts:
        for status, count in counts.items():
            statuses[status] = statuses.get(status, 0) + count
    return Result(name, len(messages), elapsed, latencies, statuses)


def start_server(kind: str, database_url: str, keys_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    import socket

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
            httpx.post(f"http://127.0.0.1:{port}/", content=b"", timeout=1.0)
            return process, port
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{kind} server did not start")


def run_one(kind: str, database_url: str, keys_dir: Path, wechat_key: Any, count: int, concurrency: int) -> Result:
    numbers = seed(database_url, count)
    messages = notifications(wechat_key, numbers)
    process, port = start_server(kind, database_url, keys_dir)
    try:
        warm = notifications(wechat_key, seed(database_url, concurrency))
        asyncio.run(deliver(f"http://127.0.0.1:{port}/notify/wechatpay/v3/{MCHID}", warm, concurrency, "warm-up"))
        url = f"http://127.0.0.1:{port}/notify/wechatpay/v3/{MCHID}"
        if args.sender_processes > 1:
            return deliver_from_processes(url, messages, concurrency, args.sender_processes, kind)
        return asyncio.run(deliver(url, messages, concurrency, kind))
    finally:
        process.terminate()
        process.wait(10)


def check_applied(database_url: str) -> int:
    from weipay.service.db import create_engine_for

    engine = create_engine_for(database_url)
    with engine.connect() as conn:
        value = conn.execute(sa.text("SELECT count(*) FROM payment_attempts WHERE status = 'succeeded'")).scalar_one()
    engine.dispose()
    return int(value)


def fresh_database(backend: str, workdir: Path, label: str) -> tuple[str, Any]:
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'{label}.sqlite3'}", None
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


def report(backend: str, bare: Result, service: Result, applied: tuple[int, int]) -> str:
    lines = [f"{backend}: {bare.count} notifications, {args.concurrency} concurrent senders"]
    for result, done in ((bare, applied[0]), (service, applied[1])):
        lines.append(
            f"  {result.name:8s} {result.throughput:8.0f}/s  p50 {result.percentile_ms(0.50):6.1f} ms  "
            f"p99 {result.percentile_ms(0.99):6.1f} ms  statuses {result.statuses}  applied {done}"
        )
    lines.append(f"  ratio service/bare = {service.throughput / bare.throughput:.2f}")
    return "\n".join(lines)


def main() -> None:
    backends = ["sqlite"] + (["postgresql"] if os.environ.get("WEIPAY_TEST_POSTGRES_URL") else [])
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        wechat_key = write_keys(workdir)
        for backend in backends:
            results, applied = {}, []
            for kind in ("bare", "service"):
                url, drop = fresh_database(backend, workdir, kind)
                try:
                    results[kind] = run_one(kind, url, workdir, wechat_key, args.count, args.concurrency)
                    applied.append(check_applied(url) - args.concurrency)
                finally:
                    if drop:
                        drop()
            print(report(backend, results["bare"], results["service"], (applied[0], applied[1])), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="notifications per run")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--sender-processes", type=int, default=4, help="client processes sharing the senders")
    parser.add_argument("--serve", choices=["bare", "service"], help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--keys-dir", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.database_url, args.keys_dir, args.port)
    else:
        main()
