"""Signed links' ``sig`` (the checkout page's and QR images') never reaches the log: uvicorn's access lines keep
the path and drop the signature."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from weipay.service.logs import configure_logging


@pytest.fixture
def log_buffer() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging("INFO", "json", stream=buffer)
    yield buffer
    root.handlers[:] = handlers
    root.setLevel(level)


def test_access_lines_keep_the_path_but_not_the_signature(log_buffer: io.StringIO) -> None:
    # A logger of its own, written as uvicorn writes access lines: a uvicorn started earlier in this process (the
    # browser tests) configured "uvicorn.access" to stop propagating; `weipay serve` (log_config=None) does not.
    access = logging.getLogger("test.uvicorn.access")
    for path in ("/pay/01ORDER?sig=1796000000.9f2c0a1b&lang=en", "/v1/orders/01ORDER/payments/1/qr.svg?sig=ab12cd"):
        access.info('%s - "%s %s HTTP/%s" %d', "203.0.113.7:50000", "GET", path, "1.1", 200)
    events = [json.loads(line)["event"] for line in log_buffer.getvalue().splitlines()]
    assert events == [
        '203.0.113.7:50000 - "GET /pay/01ORDER?sig=[redacted]&lang=en HTTP/1.1" 200',
        '203.0.113.7:50000 - "GET /v1/orders/01ORDER/payments/1/qr.svg?sig=[redacted] HTTP/1.1" 200',
    ]
    assert "9f2c0a1b" not in log_buffer.getvalue() and "ab12cd" not in log_buffer.getvalue()
