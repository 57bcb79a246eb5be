"""The one way in for a notification: the lane serves the notify paths, documented, with no route behind them."""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from weipay.sdk.v3.wechat_side import encrypt_resource
from weipay.simulator.wechat_keys import signed_headers

from ..web_harness import MCHID, Harness

PATHS = {"v3": "/notify/wechatpay/v3/{mchid}", "v2": "/notify/wechatpay/v2/{mchid}"}


def test_notify_paths_are_documented_with_every_reply_and_no_route_stands_behind_them(harness: Harness) -> None:
    document = harness.api.get("/openapi.json").json()
    for api, path in PATHS.items():
        operation = document["paths"][path]["post"]
        assert operation["summary"] and operation["tags"] == ["notifications"]
        assert all("example" in media for media in operation["requestBody"]["content"].values())
        success = "204" if api == "v3" else "200"
        assert set(operation["responses"]) == {success, "400", "401", "404", "413", "500"}
        for status, reply in operation["responses"].items():
            for media in reply.get("content", {}).values():
                assert "FAIL" in json.dumps(media["example"]) or status == success
    # Served by the lane only: a route for these paths would be unreachable.
    assert not [route for route in harness.app.routes if getattr(route, "path", "").startswith("/notify/")]


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_other_methods_on_a_notify_path_are_405(harness: Harness, api: str) -> None:
    answer = harness.api.get(f"/notify/wechatpay/{api}/{MCHID}")
    assert answer.status_code == 405 and answer.headers["allow"] == "POST"
    assert answer.json()["error"]["code"] == "method_not_allowed"


def test_a_notification_for_a_serial_not_held_yet_downloads_certificates_and_is_applied(harness_factory: Any) -> None:
    """Certificate mode, nothing downloaded yet: the offline check cannot verify; the SDK downloads, then it can."""
    harness: Harness = harness_factory(verification="platform_certificate")
    out_trade_no = "NEVER-CREATED-0001"  # a verified notification about no attempt: stored as an anomaly, 204
    resource = {
        "appid": harness.appid("official_account"), "mchid": MCHID, "out_trade_no": out_trade_no,
        "transaction_id": "4200000000000000000000000002", "trade_type": "NATIVE", "trade_state": "SUCCESS",
        "trade_state_desc": "ok", "bank_type": "OTHERS", "success_time": "2026-11-23T09:20:00+08:00",
        "payer": {"openid": "o-x"}, "amount": {"total": 1, "payer_total": 1, "currency": "CNY"},
    }  # fmt: skip
    envelope = {
        "id": "EV-new-serial", "create_time": "2026-11-23T09:20:00+08:00", "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS", "summary": "ok",
        "resource": encrypt_resource(harness.account["apiv3_key"].encode(), "transaction", "transaction",
                                     json.dumps(resource).encode(), secrets.token_hex(6)),
    }  # fmt: skip
    body = json.dumps(envelope, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", **signed_headers(harness.sim, body, public_key=False)}
    answer = harness.api.post(f"/notify/wechatpay/v3/{MCHID}", content=body, headers=headers)
    assert answer.status_code == 204, answer.text
    with harness.app.state.services.uow.read() as tx:
        assert [a.kind for a in tx.anomalies.list()] == ["notification_mismatch"]
    metrics = harness.api.get("/metrics").text
    assert 'weipay_notifications_total{api="v3",outcome="anomaly"} 1.0' in metrics


@pytest.fixture
def served(harness: Harness) -> Iterator[int]:
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


@pytest.mark.parametrize("framing", ["declared", "chunked"])
def test_an_oversized_notification_is_413_fail_and_the_connection_closes(served: int, framing: str) -> None:
    head = f"POST /notify/wechatpay/v3/{MCHID} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
    with socket.create_connection(("127.0.0.1", served), timeout=5) as conn:
        if framing == "declared":  # refused on the header alone: not one byte of the body is read
            conn.sendall(head + b"Content-Length: 209715200\r\n\r\n" + b"x" * 1000)
        else:  # read up to the limit, then refused
            conn.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
            for _ in range(3):
                conn.sendall(b"8000\r\n" + b"x" * 0x8000 + b"\r\n")
        reply = b""
        while b"FAIL" not in reply:
            chunk = conn.recv(4096)
            assert chunk, reply
            reply += chunk
    status_line, _, rest = reply.partition(b"\r\n")
    assert status_line.split(b" ")[1] == b"413"
    assert b"connection: close" in rest.lower() and b'{"code":"FAIL","message":"body too large"}' in rest
