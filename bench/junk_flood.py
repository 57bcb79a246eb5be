"""A paced flood of forged v3 notifications, sent from its own process while ``notify_bench.py`` times genuine ones.

RELIABILITY.md's P5 asks for the acknowledgement p99 of genuine notifications to stay within 1 s while junk
arrives at about 1,000 per second. wrk cannot pace its requests, so this sender does: ``--connections``
keep-alive sockets on loopback, each sending one forged notification and reading its answer before the next,
spaced so that together they offer ``--rate`` per second. Every forgery has a fresh nonce, a current timestamp,
the merchant's real serial and a random signature: the cheapest junk that still costs the server a full RSA
verification. It prints one JSON line with what was sent and how it was answered.

    python bench/junk_flood.py --url http://127.0.0.1:8000/notify/wechatpay/v3/1230000109 --rate 1000 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import secrets
import time
from collections import Counter
from urllib.parse import urlsplit


def forged_request(host: str, path: str, serial: str) -> bytes:
    ciphertext = base64.b64encode(secrets.token_bytes(96)).decode()
    body = json.dumps({"id": secrets.token_hex(8), "event_type": "TRANSACTION.SUCCESS",
                       "resource": {"ciphertext": ciphertext}}).encode()  # fmt: skip
    headers = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Wechatpay-Timestamp: {int(time.time())}\r\nWechatpay-Nonce: {secrets.token_hex(16)}\r\n"
        f"Wechatpay-Serial: {serial}\r\nWechatpay-Signature-Type: WECHATPAY2-SHA256-RSA2048\r\n"
        f"Wechatpay-Signature: {base64.b64encode(secrets.token_bytes(256)).decode()}\r\n\r\n"
    )
    return headers.encode() + body


async def read_status(reader: asyncio.StreamReader) -> int:
    """The status of one HTTP/1.1 answer, whose body (Content-Length) is read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next((int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")), 0)
    if length:
        await reader.readexactly(length)
    return int(lines[0].split()[1])


async def sender(url: str, serial: str, interval_s: float, until: float, statuses: Counter[str]) -> None:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    next_at = time.monotonic()
    try:
        while next_at < until:
            writer.write(forged_request(parts.netloc, parts.path, serial))
            statuses[str(await read_status(reader))] += 1
            next_at += interval_s
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    except (OSError, asyncio.IncompleteReadError):
        statuses["connection_error"] += 1
    finally:
        writer.close()


async def flood(url: str, serial: str, rate: float, duration_s: float, connections: int) -> dict[str, object]:
    statuses: Counter[str] = Counter()
    started = time.monotonic()
    until = started + duration_s
    await asyncio.gather(*(sender(url, serial, connections / rate, until, statuses) for _ in range(connections)))
    elapsed = time.monotonic() - started
    return {"sent": sum(statuses.values()), "per_s": round(sum(statuses.values()) / elapsed), "statuses": statuses}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", required=True, help="the notify URL of one merchant")
    parser.add_argument("--serial", default="PUB_KEY_ID_0000000000000024101100397200000006")
    parser.add_argument("--rate", type=float, default=1000.0, help="forged notifications per second, in total")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    result = asyncio.run(flood(args.url, args.serial, args.rate, args.duration, args.connections))
    print("JUNK_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
