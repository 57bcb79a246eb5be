"""What every handler of the simulator may touch: the account, the ledger, the clocks, the fault plan, new ids.

:class:`SimulatorState` holds no dispatch: the v2 and v3 APIs, the control API, the payer and the notifier
take it as their first argument, and :class:`~weipay.simulator.core.Simulator` adds ``handle`` and ``tick``
on top. Keeping the state below every handler is what lets the packages import in one direction only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from .bundle import BundlePaths, load_simulator_account
from .clock import ScaledClock, beijing
from .faults import Faults
from .ledger import Ledger

__all__ = ["CODEPAY_CONFIRM_S", "H5_PATH", "REFUND_PROCESSING_S", "SimulatorState"]

# Where an H5 order's h5_url sends the payer: the simulator's cashier page (WeChat's own path).
H5_PATH = "/cgi-bin/mmpayweb-bin/checkmweb"
# Simulated seconds a refund stays PROCESSING before it succeeds.
REFUND_PROCESSING_S = 2.0
# Simulated seconds a password-confirmed payment-code charge stays USERPAYING (WeChat's payers take ~5-20 s).
CODEPAY_CONFIRM_S = 10.0
_SIM_TIME_KEY = "sim_time"


class SimulatorState:
    """The WeChat side of one merchant bundle: account and keys, ledger, clocks, fault plan, id minting.

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
        # One run of due work at a time: the control API's tick and the server's background loop share it.
        self.tick_lock = threading.Lock()
        # Simulated seconds between accepting a refund and its success.
        self.refund_processing_s = REFUND_PROCESSING_S
        # Simulated seconds a payment-code charge stays USERPAYING before the payer decides (per code too).
        self.codepay_confirm_s = CODEPAY_CONFIRM_S

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
        self.save_time(force=True)
        self.ledger.close()
        self._closed = True

    def save_time(self, *, force: bool = False) -> None:
        """Record simulated time (at most every 5 s unless forced), so a restart continues from it."""
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
