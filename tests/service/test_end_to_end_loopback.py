"""Simulator and service on real loopback sockets (uvicorn threads; the simulator's HTTPS port with mutual TLS):
the scripted walk from order to refund, and the notify body cap against a streamed (chunked) body."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from weipay.cli._service_demo import DemoStack, run_script


@pytest.fixture
def stack(tmp_path: Path, database_url: str) -> Iterator[DemoStack]:
    running = DemoStack(tmp_path / "demo", "127.0.0.1", 0, 0, 0, 1.0, database_url=database_url)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_scripted_walk_over_loopback(stack: DemoStack) -> None:
    lines: list[str] = []
    assert run_script(stack, echo=lines.append, timeout_s=20), "\n".join(lines)
    assert any("is paid" in line for line in lines)


def test_streamed_oversized_notification_is_cut_at_64_kib(stack: DemoStack) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(200):
            yield b"z" * 1024

    mchid = stack.services.settings.merchants[0].mchid
    response = httpx.post(f"{stack.service_url}/notify/wechatpay/v3/{mchid}", content=chunks(), timeout=10)
    assert response.status_code == 413
    assert response.json()["code"] == "FAIL"
