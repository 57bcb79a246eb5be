"""The simulator core: ``Simulator.handle(SimRequest) -> SimResponse``, no sockets.

The same core serves the in-process httpx transport, the ASGI app (real HTTP and HTTPS) and the tests.
Dispatch by path: ``/v3/…`` -> :mod:`v3_api`; ``/pay/…`` and ``/secapi/…`` -> ``v2_api.handle``;
``/sns/jscode2session`` -> :mod:`login_api`; ``/simulator/…`` and the H5 cashier page -> :mod:`control_api`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import json
import logging
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

import httpx

from .bundle import BundlePaths, load_simulator_account
from .clock import ScaledClock, beijing
from .faults import Faults, RequestFault
from .ledger import Ledger, Order, Refund

__all__ = ["SimRequest", "SimResponse", "Simulator"]

log = logging.getLogger("weipay.simulator")

H5_PATH = "/cgi-bin/mmpayweb-bin/checkmweb"
# Simulated seconds a refund stays PROCESSING before it succeeds.
REFUND_PROCESSING_S = 2.0
_SIM_TIME_KEY = "sim_time"


@dataclass
class SimRequest:
    """One HTTP request as the simulator sees it. ``path`` is the raw (still percent-encoded) path."""

    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    mtls: bool = False

    @property
    def canonical_url(self) -> str:
        """Path plus ``?query`` exactly as sent: what a v3 merchant signs."""
        return self.path + ("?" + self.query if self.query else "")

    def query_params(self) -> dict[str, str]:
        """The query string as a dict (last value wins)."""
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def header(self, name: str, default: str = "") -> str:
        """A header by case-insensitive name."""
        return self.headers.get(name.lower(), default)


@dataclass
class SimResponse:
    """One HTTP response. ``delay_s`` and ``lose_answer`` carry injected latency and lost answers."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_s: float = 0.0
    lose_answer: bool = False

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> SimResponse:
        """A JSON response (UTF-8, Chinese kept as is, compact)."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status, {"content-type": "application/json; charset=utf-8", **(headers or {})}, body)

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> SimResponse:
        """A text response."""
        return cls(status, {"content-type": content_type}, text.encode())


def optional_module(name: str) -> ModuleType | None:
    """Import ``name`` if it exists (parts written separately: API v2, the payer page); None otherwise."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


class Simulator:
    """The WeChat Pay servers for one merchant bundle.

    ``clock`` returns simulated Unix time (default: real time scaled by ``time_scale``, continuing from the
    last simulated time recorded, so a restart never moves time backwards). ``notify_transport`` is the
    httpx transport notifications go through (default: real network). ``seed`` seeds the fault plan.
    """

    def __init__(
        self,
        directory: Path | str,
        *,
        clock: Callable[[], float] | None = None,
        time_scale: float = 1.0,
        strict: bool = False,
        notify_transport: httpx.BaseTransport | None = None,
        seed: int = 0,
    ) -> None:
        self.paths = BundlePaths(Path(directory))
        self.account: dict[str, Any] = load_simulator_account(self.paths.root)
        self.ledger = Ledger(self.paths.ledger)
        if clock is None:
            last = self.ledger.get_meta(_SIM_TIME_KEY)
            clock = ScaledClock(time_scale, start=float(last) if last else None)
            wall: Callable[[], float] = time.time
        else:
            wall = clock
        self._clock = clock
        self._wall = wall
        self.time_scale = time_scale
        self.strict = strict
        self.faults = Faults(seed)
        self.notify_transport = notify_transport
        self.base_url: str = self.account["base_url"]
        self.https_base_url: str = self.account["https_base_url"]
        # How long the HTTP server holds a request whose answer the fault plan lost (past most client timeouts).
        self.hang_s = 15.0
        self._saved_time = 0.0
        self._closed = False
        self._tick_lock = threading.Lock()
        # Simulated seconds between accepting a refund and its success.
        self.refund_processing_s = REFUND_PROCESSING_S

    # -- identity and time -------------------------------------------------------------------------------
    @property
    def mchid(self) -> str:
        """The merchant id this simulator serves."""
        return str(self.account["mchid"])

    def now(self) -> float:
        """Simulated Unix time (scaled by ``time_scale``), including the fault plan's clock skew.

        It drives everything that happens over time: order and refund times, expiry, the retry schedule.
        """
        return self._clock() + self.faults.plan.clock_skew_s

    def wall_now(self) -> float:
        """WeChat's wall clock for signatures: real time plus the fault plan's skew, never scaled.

        Merchants sign with their real clock and check WeChat's timestamps against it (±5 min), so
        protocol timestamps and short-lived tokens (login codes, bill links) must not run fast.
        With an injected ``clock`` (tests) both clocks are that clock.
        """
        return self._wall() + self.faults.plan.clock_skew_s

    def close(self) -> None:
        """Record simulated time and close the ledger (idempotent)."""
        if self._closed:
            return
        self._save_time(force=True)
        self.ledger.close()
        self._closed = True

    def _save_time(self, *, force: bool = False) -> None:
        now = self._clock()
        if force or now - self._saved_time > 5.0:
            self.ledger.set_meta(_SIM_TIME_KEY, repr(now))
            self._saved_time = now

    # -- identifiers -------------------------------------------------------------------------------------
    def new_prepay_id(self) -> str:
        """``wx`` + Beijing time + 20 hex, like WeChat's."""
        return "wx" + beijing(self.now()).strftime("%Y%m%d%H%M%S") + secrets.token_hex(10)

    def new_transaction_id(self) -> str:
        """28 digits starting ``42000``."""
        return "42000" + "".join(secrets.choice(string.digits) for _ in range(5)) + beijing(self.now()).strftime(
            "%Y%m%d") + "".join(secrets.choice(string.digits) for _ in range(10))

    def new_refund_id(self) -> str:
        """29 digits starting ``503``."""
        return "50300" + "".join(secrets.choice(string.digits) for _ in range(6)) + beijing(self.now()).strftime(
            "%Y%m%d") + "".join(secrets.choice(string.digits) for _ in range(10))

    def openid_for(self, appid: str, user: str) -> str:
        """The stable openid of ``user`` under ``appid`` (28 chars, like ``oUpF8uMuAJO_M2pxb1Q9zNjWeS6o``)."""
        digest = hmac.new(self.account["token_secret"], f"{appid}\0{user}".encode(), hashlib.sha256).digest()
        return "o" + base64.urlsafe_b64encode(digest).decode()[:27]

    # -- dispatch ----------------------------------------------------------------------------------------
    def handle(self, request: SimRequest) -> SimResponse:
        """Answer one request. Never raises: unexpected errors become a 500 JSON answer."""
        try:
            return self._dispatch(request)
        except Exception:
            log.exception("simulator error on %s %s", request.method, request.path)
            return SimResponse.json(500, {"code": "SYSTEM_ERROR", "message": "系统异常，请稍后重试"})

    def _dispatch(self, request: SimRequest) -> SimResponse:
        path = request.path
        if path.startswith("/simulator/") or path == H5_PATH:
            from . import control_api

            return control_api.handle(self, request)
        fault = self.faults.for_request(path)
        if fault.error is not None:
            response = self._fault_response(request, fault)
        else:
            response = self._route(request)
            response.lose_answer = response.lose_answer or fault.lose_answer
        response.delay_s += fault.latency_s
        return response

    def _route(self, request: SimRequest) -> SimResponse:
        path = request.path
        if path.startswith("/v3/"):
            from . import v3_api

            return v3_api.handle(self, request)
        if path.startswith(("/pay/", "/secapi/")):
            if path.startswith("/secapi/") and not request.mtls:
                return SimResponse.text(
                    403, "/secapi/ requires the merchant API client certificate: use the HTTPS port "
                         f"({self.https_base_url}) with apiclient_cert.pem/apiclient_key.pem")
            v2 = optional_module("weipay.simulator.v2_api")
            if v2 is None:
                return SimResponse.json(404, {"code": "NOT_FOUND", "message": "API v2 is not available"})
            result: SimResponse = v2.handle(self, request)
            return result
        if path == "/sns/jscode2session":
            from . import login_api

            return login_api.handle(self, request)
        return SimResponse.json(404, {"code": "NOT_FOUND", "message": f"no such API: {request.method} {path}"})

    def _fault_response(self, request: SimRequest, fault: RequestFault) -> SimResponse:
        if fault.error == "timeout":
            return SimResponse(504, lose_answer=True)
        if fault.error == "http_5xx":
            return SimResponse.text(502, "<html><body>502 Bad Gateway</body></html>", "text/html")
        if request.path.startswith("/v3/"):
            from . import v3_api

            return v3_api.fault_response(self, request, fault.error or "system_error")
        if request.path.startswith(("/pay/", "/secapi/")):
            v2 = optional_module("weipay.simulator.v2_api")
            if v2 is not None and hasattr(v2, "fault_response"):
                answer: SimResponse = v2.fault_response(self, request, fault.error)
                return answer
            from weipay.sdk.v2.xmlcodec import to_xml

            code = "FREQUENCY_LIMITED" if fault.error == "frequency_limited" else "SYSTEMERROR"
            return SimResponse(200, {"content-type": "text/xml; charset=utf-8"}, to_xml(
                {"return_code": "SUCCESS", "return_msg": "OK", "result_code": "FAIL", "err_code": code,
                 "err_code_des": "系统超时" if code == "SYSTEMERROR" else "你的操作过于频繁，请稍后再试。"}))
        return SimResponse.json(200, {"errcode": -1, "errmsg": "system error"})

    # -- work that happens over time ---------------------------------------------------------------------
    def tick(self) -> dict[str, int]:
        """Run due work: expire orders, finish refunds, deliver notifications. Returns counts.

        One tick at a time: a second caller (the control API while the background loop runs) waits.
        """
        with self._tick_lock:
            return self._tick()

    def _tick(self) -> dict[str, int]:
        now = self.now()
        expired = self.ledger.expire_orders(now)
        finished = 0
        for refund in self.ledger.due_refunds(now):
            done = self.ledger.complete_refund(refund, status="SUCCESS", now=now)
            if done is not None:
                finished += 1
                self.enqueue_refund_notification(done)
        delivered = self.deliver_due_notifications()
        self._save_time()
        return {"expired": expired, "refunds": finished, "deliveries": delivered}

    def deliver_due_notifications(self) -> int:
        """Deliver every notification due now; returns the number of attempts made."""
        from .notifier import deliver_due

        return deliver_due(self)

    def enqueue_payment_notification(self, order: Order) -> int | None:
        """Queue the payment notification for ``order`` in its API version; None if it has no notify_url."""
        from .notifier import enqueue_payment

        return enqueue_payment(self, order)

    def enqueue_refund_notification(self, refund: Refund) -> int | None:
        """Queue the refund notification; None when the refund (or its order) has no notify_url."""
        from .notifier import enqueue_refund

        return enqueue_refund(self, refund)

    def pay(self, order: Order, *, openid: str | None = None, outcome: str = "success") -> dict[str, Any]:
        """Play the payer: ``success`` pays (and notifies), ``cancel`` / ``insufficient_balance`` leave it unpaid,
        ``bank_error`` makes it PAYERROR (still payable).

        Returns ``{"transaction_id"?, "trade_state", "trade_state_desc"}``; raises ``LedgerRefusal``.
        """
        from .payer import pay

        return pay(self, order, openid=openid, outcome=outcome)
