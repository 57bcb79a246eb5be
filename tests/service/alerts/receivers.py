"""Local stand-ins for the group robots, over real HTTP, each checking its platform's format and signature.

Each receiver is written from the platform's documentation, independently of the sinks: it recomputes the
signature itself and answers the way the platform does (HTTP 200 with an error code in the body when it
refuses), so a sink that signs or formats wrongly fails its delivery here exactly as it would in production.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

WECOM_KEY = "wecom-key-0f3a"
DINGTALK_TOKEN = "ding-token-77"
DINGTALK_SECRET = "SECdingtalk-secret-value-123"
FEISHU_TOKEN = "feishu-hook-5d2"
FEISHU_SECRET = "feishu-secret-value-456"
WEBHOOK_SECRET = "webhook-secret-value-789"


@dataclass
class Received:
    """One request a receiver took, and whether it accepted it."""

    platform: str
    path: str
    query: dict[str, list[str]]
    body: dict[str, Any]
    headers: dict[str, str]
    accepted: bool
    reason: str = ""


@dataclass
class Robots:
    """The receivers' shared state: what arrived, the clock they check timestamps against, and an outage switch."""

    now: Callable[[], float]
    received: list[Received] = field(default_factory=list)
    down: bool = False  # answer HTTP 503 to everything
    base_url: str = ""

    def accepted(self, platform: str) -> list[Received]:
        """Accepted requests of one platform."""
        return [r for r in self.received if r.platform == platform and r.accepted]


def _wecom(query: dict[str, list[str]], body: dict[str, Any], _headers: dict[str, str], _now: float) -> str:
    if query.get("key") != [WECOM_KEY]:
        return "93000 invalid webhook url"
    msgtype = body.get("msgtype")
    limit = {"markdown": 4096, "text": 2048}.get(str(msgtype))
    if limit is None or set(body) != {"msgtype", str(msgtype)}:
        return "40008 invalid message type"
    content = body[str(msgtype)].get("content")
    if not isinstance(content, str) or not content or len(content.encode()) > limit:
        return "40058 content exceeds the limit"
    return ""


def _dingtalk(query: dict[str, list[str]], body: dict[str, Any], _headers: dict[str, str], now: float) -> str:
    if query.get("access_token") != [DINGTALK_TOKEN]:
        return "300001 token is not exist"
    (timestamp,) = query.get("timestamp", [""])
    (sign,) = query.get("sign", [""])  # parse_qs undoes the URL encoding
    if not timestamp.isdigit() or abs(int(timestamp) - now * 1000) > 3_600_000:
        return "310000 timestamp is not within one hour"
    expected = base64.b64encode(
        hmac.new(DINGTALK_SECRET.encode(), f"{timestamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    if not hmac.compare_digest(sign, expected):
        return "310000 sign not match"
    msgtype = body.get("msgtype")
    if msgtype == "markdown":
        ok = isinstance(body["markdown"].get("title"), str) and isinstance(body["markdown"].get("text"), str)
    else:
        ok = msgtype == "text" and isinstance(body["text"].get("content"), str)
    return "" if ok else "40035 missing parameter"


def _feishu(_query: dict[str, list[str]], body: dict[str, Any], _headers: dict[str, str], now: float) -> str:
    timestamp = body.get("timestamp")
    if not isinstance(timestamp, str) or not timestamp.isdigit() or abs(int(timestamp) - now) > 3600:
        return "19021 sign match fail or timestamp is not within one hour from current time"
    # Feishu's scheme: the string is the HMAC key, the message is empty (not DingTalk's scheme).
    expected = base64.b64encode(hmac.new(f"{timestamp}\n{FEISHU_SECRET}".encode(), b"", hashlib.sha256).digest())
    if not hmac.compare_digest(str(body.get("sign", "")), expected.decode()):
        return "19021 sign match fail or timestamp is not within one hour from current time"
    if body.get("msg_type") != "text" or not isinstance(body.get("content", {}).get("text"), str):
        return "9499 bad request"
    return ""


class _Handler(BaseHTTPRequestHandler):
    robots: Robots

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        split = urlsplit(self.path)
        query = parse_qs(split.query)
        headers = {k.lower(): v for k, v in self.headers.items()}
        robots = self.robots
        if robots.down:
            self._answer(503, b"down")
            return
        body = json.loads(raw)
        if split.path == "/cgi-bin/webhook/send":
            platform, reason = "wecom", _wecom(query, body, headers, robots.now())
            answer = {"errcode": 0, "errmsg": "ok"} if not reason else _coded("errcode", reason)
        elif split.path == "/robot/send":
            platform, reason = "dingtalk", _dingtalk(query, body, headers, robots.now())
            answer = {"errcode": 0, "errmsg": "ok"} if not reason else _coded("errcode", reason)
        elif split.path == f"/open-apis/bot/v2/hook/{FEISHU_TOKEN}":
            platform, reason = "feishu", _feishu(query, body, headers, robots.now())
            answer = {"code": 0, "msg": "success", "data": {}} if not reason else _coded("code", reason)
        elif split.path == "/hooks/alerts":
            platform, reason = "webhook", _verify_webhook(raw, headers, robots.now())
            robots.received.append(Received(platform, split.path, query, body, headers, not reason, reason))
            self._answer(204 if not reason else 400, b"")
            return
        else:
            self._answer(404, b"")
            return
        robots.received.append(Received(platform, split.path, query, body, headers, not reason, reason))
        self._answer(200, json.dumps(answer).encode())  # the robots answer 200 even when they refuse

    def _answer(self, status: int, content: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)


def _coded(name: str, reason: str) -> dict[str, Any]:
    code, _, message = reason.partition(" ")
    return {name: int(code), "errmsg" if name == "errcode" else "msg": message}


def _verify_webhook(raw: bytes, headers: dict[str, str], now: float) -> str:
    parts = dict(part.split("=", 1) for part in headers.get("x-weipay-signature", "").split(",") if "=" in part)
    timestamp, signature = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit() or abs(int(timestamp) - now) > 300:
        return "stale or missing timestamp"
    expected = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, expected):
        return "bad signature"
    event = json.loads(raw)
    if set(event) != {"id", "type", "created", "data"} or event["type"] != "alert":
        return "not an alert event"
    return ""


def serve(robots: Robots) -> ThreadingHTTPServer:
    """Start the receivers on a free local port (``robots.base_url`` set); the caller shuts the server down."""
    handler = type("Handler", (_Handler,), {"robots": robots})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    robots.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def sink_settings(base_url: str, **overrides: Any) -> list[dict[str, Any]]:
    """One sink of each kind pointing at the receivers, as ``settings.alerts`` entries."""
    sinks = [
        {"kind": "wecom", "url": f"{base_url}/cgi-bin/webhook/send?key={WECOM_KEY}"},
        {"kind": "dingtalk", "url": f"{base_url}/robot/send?access_token={DINGTALK_TOKEN}", "secret": DINGTALK_SECRET},
        {"kind": "feishu", "url": f"{base_url}/open-apis/bot/v2/hook/{FEISHU_TOKEN}", "secret": FEISHU_SECRET},
        {"kind": "webhook", "url": f"{base_url}/hooks/alerts", "secret": WEBHOOK_SECRET},
    ]
    return [{**sink, **overrides} for sink in sinks]
