"""The merchant webhook signature: ``X-Weipay-Signature: t=<unix>,v1=<hex>`` (Stripe's scheme).

``v1`` is HMAC-SHA256, keyed with the merchant's ``webhook_secret``, over ``"{t}.{body}"``: the timestamp is
signed with the body, so a receiver that checks both the signature and the age of ``t`` rejects a tampered body
and a replayed old delivery alike. A header may carry several ``v1`` values (one per secret while a secret is
rotated); one match is enough. Comparisons are constant-time and the window is symmetric: a ``t`` in the future
beyond the tolerance is refused too (stripe-php PR #658 made the same change for clock skew).
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["DEFAULT_TOLERANCE_S", "sign_webhook", "verify_webhook", "webhook_digest"]

DEFAULT_TOLERANCE_S = 300
_MAX_HEADER_CHARS = 1024  # a few signatures; anything longer is not ours


def webhook_digest(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"{timestamp}.{body}"`` under ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign_webhook(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Weipay-Signature`` header value."""
    return f"t={timestamp},v1={webhook_digest(secret, timestamp, body)}"


def verify_webhook(
    secret: str, header: str | None, body: bytes, *, now: float, tolerance_s: float = DEFAULT_TOLERANCE_S
) -> bool:
    """Whether ``header`` signs exactly ``body`` under ``secret`` with a ``t`` within ``tolerance_s`` of ``now``.

    A missing or malformed header is False, never an exception: the receiver answers 400 either way.
    """
    if not header or len(header) > _MAX_HEADER_CHARS:
        return False
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures or abs(now - timestamp) > tolerance_s:
        return False
    expected = webhook_digest(secret, timestamp, body)
    # Check every candidate (no early exit), so the time taken says nothing about which one matched.
    matches = [hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in signatures]
    return any(matches)
