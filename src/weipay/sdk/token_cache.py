"""Where mini-program access tokens live between calls, and who may refresh one.

A :class:`TokenCache` only stores; the decisions (is this token fresh enough, wait or refresh, retry on a
rejected token) are made once, in :mod:`weipay.sdk.token_calls`. Every method is one short step
with no waiting inside, so the same flow runs on threads and on an event loop, and a cache shared
between processes is a table of one row per appid, each method one statement:

* :meth:`~TokenCache.load` → ``SELECT value, expires_at_s FROM tokens WHERE appid = :appid``
* :meth:`~TokenCache.claim_refresh` → ``UPDATE tokens SET refresh_until_s = :now + :lease
  WHERE appid = :appid AND (refresh_until_s IS NULL OR refresh_until_s <= :now)`` (after an insert of the
  row if missing); claimed when one row changed
* :meth:`~TokenCache.store` → ``UPDATE tokens SET value, expires_at_s, refresh_until_s = NULL``
* :meth:`~TokenCache.release` → ``UPDATE tokens SET refresh_until_s = NULL``
* :meth:`~TokenCache.discard` → ``UPDATE tokens SET value = NULL WHERE appid = :appid AND value = :rejected``
  (compare-and-set: a token another process already replaced is left alone)

The claim is a lease, so a refresher that dies only delays the others until the lease ends.
:class:`MemoryTokenCache` is the same contract for one process.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from .access_token import AccessToken

__all__ = ["MemoryTokenCache", "TokenCache"]


class TokenCache(Protocol):
    """Storage for one access token per appid, plus a single-flight refresh claim per appid."""

    def load(self, appid: str) -> AccessToken | None:
        """The stored token of ``appid``, fresh or not; ``None`` when there is none."""
        ...

    def claim_refresh(self, appid: str, now_s: float, lease_s: float) -> bool:
        """Become the one refresher of ``appid`` until ``now_s + lease_s``; False while another claim lives."""
        ...

    def store(self, appid: str, token: AccessToken) -> None:
        """Keep a freshly fetched token and end the refresh claim."""
        ...

    def release(self, appid: str) -> None:
        """End the refresh claim without a new token (the refresh failed)."""
        ...

    def discard(self, appid: str, token: AccessToken) -> None:
        """WeChat rejected ``token``: forget it, unless the stored token is already another one."""
        ...


@dataclass(slots=True)
class _Entry:
    token: AccessToken | None = None
    refresh_until_s: float | None = None


class MemoryTokenCache:
    """A :class:`TokenCache` for one process, shared by its threads and tasks.

    The lock guards a few assignments and is never held across I/O, so it is safe inside an event loop.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def __repr__(self) -> str:
        return f"MemoryTokenCache(appids={sorted(self._entries)!r})"

    def load(self, appid: str) -> AccessToken | None:
        """The stored token of ``appid``, if any."""
        with self._lock:
            entry = self._entries.get(appid)
            return entry.token if entry is not None else None

    def claim_refresh(self, appid: str, now_s: float, lease_s: float) -> bool:
        """Claim the refresh of ``appid`` unless a live claim exists."""
        with self._lock:
            entry = self._entries.setdefault(appid, _Entry())
            if entry.refresh_until_s is not None and entry.refresh_until_s > now_s:
                return False
            entry.refresh_until_s = now_s + lease_s
            return True

    def store(self, appid: str, token: AccessToken) -> None:
        """Keep ``token`` and end the claim."""
        with self._lock:
            self._entries[appid] = _Entry(token, None)

    def release(self, appid: str) -> None:
        """End the claim, keeping whatever token is stored."""
        with self._lock:
            entry = self._entries.get(appid)
            if entry is not None:
                entry.refresh_until_s = None

    def discard(self, appid: str, token: AccessToken) -> None:
        """Forget ``token`` if it is still the stored one."""
        with self._lock:
            entry = self._entries.get(appid)
            if entry is not None and entry.token is not None and entry.token.value == token.value:
                entry.token = None
