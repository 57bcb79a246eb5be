"""Behind a reverse proxy: ``X-Forwarded-For`` is believed only from ``trusted_proxies``, and the address it gives is
the payer IP an H5 payment sends WeChat. The app served by uvicorn with exactly ``weipay serve``'s options."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from weipay.cli.service_cmd import server_options

from ..web_harness import MCHID, Harness


def _serve(app: Any, options: dict[str, Any]) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


def _h5_payer_ip(harness: Harness, base_url: str) -> str:
    order = harness.create_order()
    with httpx.Client(base_url=base_url, timeout=10) as client:
        started = client.post(f"/v1/orders/{order['id']}/payments", json={"channel": "h5"},
                              headers={**harness.merchant, "X-Forwarded-For": "198.51.100.23",
                                       "X-Forwarded-Proto": "https"})  # fmt: skip
    assert started.status_code == 201, started.text
    at_wechat = harness.sim.ledger.order(MCHID, started.json()["out_trade_no"])
    assert at_wechat is not None
    return at_wechat.payer_client_ip


@pytest.mark.parametrize(("trusted", "expected"), [
    (["127.0.0.1", "::1"], "198.51.100.23"),  # the default: a proxy on the same host
    (["10.0.0.0/24"], "127.0.0.1"),  # the peer is not a configured proxy: its headers are ignored
])  # fmt: skip
def test_the_payer_ip_is_the_forwarded_one_only_from_a_trusted_proxy(
    harness: Harness, trusted: list[str], expected: str
) -> None:
    settings = harness.settings.model_copy(update={"trusted_proxies": trusted})
    options = server_options(settings)
    assert options["forwarded_allow_ips"] == trusted and options["proxy_headers"] is True
    for base_url in _serve(harness.app, options):
        assert _h5_payer_ip(harness, base_url) == expected


def test_a_trusted_proxy_that_is_no_address_is_refused_naming_the_rule() -> None:
    from weipay.service.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match=r"trusted_proxies.*'nginx.internal' is not an IP address or CIDR network"):
        load_settings(environ={"WEIPAY_TRUSTED_PROXIES": '["10.0.0.10", "nginx.internal"]'})
    settings = load_settings(environ={"WEIPAY_TRUSTED_PROXIES": '["10.0.0.10", "10.1.0.0/16"]',
                                      "WEIPAY_LOG_FORMAT": "json", "WEIPAY_LOG_LEVEL": "warning"})
    assert settings.trusted_proxies == ["10.0.0.10", "10.1.0.0/16"]
    assert (settings.log_format, settings.log_level) == ("json", "WARNING")
    with pytest.raises(SettingsError, match=r"log_level.*must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"):
        load_settings(environ={"WEIPAY_LOG_LEVEL": "verbose"})
