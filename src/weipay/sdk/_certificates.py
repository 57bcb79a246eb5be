"""When to download WeChat Pay platform certificates, and how to read the download. No I/O.

In certificate mode the merchant learns WeChat's signing keys from ``GET /v3/certificates``. Two
events trigger a download:

* **reactive**: a response or notification names a ``Wechatpay-Serial`` we do not hold (WeChat
  rotated its certificate);
* **proactive**: we hold no usable certificate, or the newest one expires within
  :data:`REFRESH_BEFORE_EXPIRY_S` (12 h: long enough for a daily job to notice, short compared with
  the 5-year validity and the days-long overlap WeChat gives during rotation).

Either way at most one download runs at a time (single flight) and at most one starts per
:data:`MIN_REFRESH_INTERVAL_S` (5 min), whatever the number of unknown serials an attacker sends
(RELIABILITY T17). Downloaded certificates are added, never swapped in, so old and new are both
accepted during rotation until the old one expires.
"""

from __future__ import annotations

import threading
from enum import Enum

from .v3.verifier import Verifier

__all__ = ["MIN_REFRESH_INTERVAL_S", "REFRESH_BEFORE_EXPIRY_S", "Admission", "RefreshGate", "refresh_due"]

MIN_REFRESH_INTERVAL_S = 300.0
REFRESH_BEFORE_EXPIRY_S = 12 * 3600.0


class Admission(Enum):
    """The gate's answer to "may I download now?"."""

    GO = "go"  # you are the one download; call finish() when done
    WAIT = "wait"  # another download is running; wait for it, then re-check
    DENIED = "denied"  # a download started less than MIN_REFRESH_INTERVAL_S ago


class RefreshGate:
    """Single-flight, rate-limited admission to certificate downloads, shared by threads and tasks.

    The lock is held only for a few assignments, never across I/O, so it is safe inside an event loop.
    """

    def __init__(self, *, min_interval_s: float = MIN_REFRESH_INTERVAL_S) -> None:
        self._lock = threading.Lock()
        self._min_interval_s = min_interval_s
        self._started_at: float | None = None
        self._in_flight = False
        self.downloads_started = 0

    @property
    def in_flight(self) -> bool:
        """True while a download runs."""
        return self._in_flight

    def admit(self, now: float) -> Admission:
        """Claim the next download, or say why not."""
        with self._lock:
            if self._in_flight:
                return Admission.WAIT
            if self._started_at is not None and now - self._started_at < self._min_interval_s:
                return Admission.DENIED
            self._in_flight = True
            self._started_at = now
            self.downloads_started += 1
            return Admission.GO

    def finish(self) -> None:
        """Release the claim taken by a :attr:`Admission.GO`."""
        with self._lock:
            self._in_flight = False


def refresh_due(verifier: Verifier, now: float) -> bool:
    """True when no certificate is usable or the newest one expires within the refresh margin."""
    if verifier.preferred_serial() is None:
        return True
    expiries = verifier.certificate_expiries()
    return bool(expiries) and max(expiries) - now < REFRESH_BEFORE_EXPIRY_S
