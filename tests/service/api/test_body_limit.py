"""Bodies above the limit (64 KiB by default) are refused with 413 before they are read, on every endpoint."""

from __future__ import annotations

import resource
import socket
import threading
import time
from typing import Any

import pytest
import uvicorn

from ..web_harness import MCHID, Harness

LIMIT = 64 * 1024


@pytest.mark.parametrize("path", ["/v1/orders", "/v1/login", "/console/login", f"/notify/wechatpay/v3/{MCHID}",
                                  f"/notify/wechatpay/v2/{MCHID}", "/v1/orders/nope/refunds"])
def test_every_endpoint_refuses_a_body_over_the_limit(harness: Harness, path: str) -> None:
    answer = harness.api.post(path, content=b"{" + b" " * LIMIT + b"}", headers=harness.merchant)
    assert answer.status_code == 413, answer.text
    if not path.startswith("/notify/"):  # notifications answer in WeChat's own failure format
        assert answer.json()["error"]["code"] == "body_too_large"


def test_a_body_at_the_limit_is_read(harness: Harness) -> None:
    body = b'{"merchant_order_no": "LIMIT-1", "amount": 100, "description": "x"' + b" " * 1000 + b"}"
    assert harness.api.post("/v1/orders", content=body, headers={**harness.merchant,
                                                                 "content-type": "application/json"}).status_code == 201


def test_the_limit_is_a_setting(harness_factory: Any) -> None:
    harness: Harness = harness_factory()
    assert harness.settings.max_body_bytes == LIMIT


@pytest.fixture
def served(harness: Harness) -> Any:
    """The harness's app on a real socket (uvicorn in a thread)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = uvicorn.Server(uvicorn.Config(harness.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield sock.getsockname()[1]
    server.should_exit = True
    thread.join(10)


def _status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_huge_declared_body_is_refused_without_reading_it(served: int, harness: Harness) -> None:
    with socket.create_connection(("127.0.0.1", served), timeout=5) as conn:
        conn.sendall(b"POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Authorization: " + harness.merchant["Authorization"].encode() +
                     b"\r\nContent-Length: 209715200\r\n\r\n" + b"x" * 1000)  # fmt: skip
        reply = conn.recv(4096)
    assert _status(reply) == 413 and b"body_too_large" in reply


def test_a_huge_chunked_body_is_cut_off_at_the_limit_and_memory_stays_flat(served: int, harness: Harness) -> None:
    before = _rss_mb()
    chunk = b"x" * 65536
    sent = 0
    with socket.create_connection(("127.0.0.1", served), timeout=10) as conn:
        conn.sendall(b"POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
        try:
            while sent < 50 * 1024 * 1024:  # 50 MB unless the server stops us first
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        conn.settimeout(10)
        try:
            reply = conn.recv(4096)
        except ConnectionResetError:
            reply = b""
    assert _status(reply) == 413, reply[:200]  # answered before the 50 MB were all sent
    assert _rss_mb() - before < 30  # peak RSS: 50 MB were offered, the server held at most the limit
