"""Black box over real HTTP: ``weipay simulator serve`` + ``weipay serve`` + ``weipay worker``, each its own process.

Hostile or careless input, as issue #8 found it over the wire: bodies of any size were read and parsed before
authentication (three 200 MB bodies took the process from 104 MB to 1.3 GB); a NUL in an order's text was
accepted and then a 500 on PostgreSQL; concurrent identical order requests answered 201 more than once.
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx

from .test_served_refund_states import AUTH, Stack, stack

__all__ = ["stack"]


def _announce_huge_body(url: str, path: str, headers: dict[str, str]) -> tuple[int, float]:
    """Announce 200 MB, send none of it, and time the answer: it must come without the body being read."""
    parts = urlsplit(url)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    started = time.perf_counter()
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n{head}"
                     f"Content-Length: {200 * 1024 * 1024}\r\n\r\n{{".encode())  # fmt: skip
        status_line = sock.makefile("rb").readline().decode()
    return int(status_line.split()[1]), time.perf_counter() - started


def test_a_huge_body_is_refused_with_413_before_it_is_read_on_every_door(stack: Stack) -> None:
    for path, headers in (("/v1/orders", AUTH), ("/v1/orders", {}), ("/console/login", {}),
                          ("/notify/wechatpay/v3/1900000109", {})):  # fmt: skip
        status, seconds = _announce_huge_body(stack.service_url, path, headers)
        assert status == 413, (path, status)
        assert seconds < 5, (path, seconds)  # answered while the 200 MB never came
    assert stack.api.get("/healthz").status_code == 200


def test_a_nul_in_an_orders_text_is_422_where_it_enters_and_nothing_is_stored(stack: Stack) -> None:
    for field in ("description", "attach"):
        answer = stack.api.post("/v1/orders", json={"merchant_order_no": f"NUL-{field}", "amount": 100,
                                                    "description": "tea", field: "tea\x00cake"})  # fmt: skip
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == f"invalid_{field}"
    clean = stack.api.post("/v1/orders", json={"merchant_order_no": "NUL-description", "amount": 100,
                                               "description": "tea"})  # fmt: skip
    assert clean.status_code == 201  # the refused request left no order behind under that number


def test_concurrent_identical_orders_answer_exactly_one_201(stack: Stack) -> None:
    body = {"merchant_order_no": "TWINS-1", "amount": 2500, "description": "tea"}

    def create(_: int) -> httpx.Response:
        with httpx.Client(base_url=stack.service_url, headers=AUTH, timeout=30) as client:
            return client.post("/v1/orders", json=body)

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(create, range(16)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 15 + [201], statuses
    assert len({answer.json()["id"] for answer in answers}) == 1
