"""Time and randomness as parameters: the SDK never reads the wall clock or ``random`` directly."""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable

__all__ = ["Clock", "NonceSource", "new_nonce", "system_clock"]

Clock = Callable[[], float]
"""Returns the current Unix time in seconds."""

NonceSource = Callable[[], str]
"""Returns a fresh random nonce string."""

_ALPHABET = string.ascii_letters + string.digits


def system_clock() -> float:
    """The real Unix time."""
    return time.time()


def new_nonce(length: int = 32) -> str:
    """A cryptographically random ``[A-Za-z0-9]`` string (WeChat's nonce_str limit is 32)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
