"""Signed links to the hosted checkout page: ``/pay/{order_id}?sig={expires_at}.{mac}``.

A payer's browser carries no credential, so the link itself is the credential, like the QR image links
(:mod:`.qr`): an HMAC of the order id and the link's expiry under the app's signing secret. The message starts
with ``pay:`` (the QR links' with ``qr:``), so one secret never signs the same bytes for both. A link that was
tampered with, belongs to another order or has expired is simply not there (404): order ids alone reveal nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

__all__ = ["CheckoutLinks"]

# Longest a link may live: a payer who comes back a month later should meet a fresh link, not an old one.
MAX_LINK_LIFETIME_S = 30 * 86_400


class CheckoutLinks:
    """Signs and checks the ``sig`` parameter of checkout page links."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def signature(self, order_id: str, expires_at: int) -> str:
        """``"{expires_at}.{mac}"``: the expiry travels in clear, the MAC covers it."""
        message = f"pay:{order_id}:{expires_at}".encode()
        return f"{expires_at}.{hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]}"

    def path(self, order_id: str, expires_at: int, lang: str | None = None) -> str:
        """The page's path (relative to the service's base URL)."""
        query = {"sig": self.signature(order_id, expires_at), **({"lang": lang} if lang else {})}
        return f"/pay/{order_id}?{urlencode(query)}"

    def check(self, order_id: str, signature: str, now: float) -> bool:
        """Whether ``signature`` was made for this order and has not expired (constant-time comparison)."""
        expires_text, _, _ = signature.partition(".")
        if not (expires_text.isascii() and expires_text.isdigit()) or len(expires_text) > 12:
            return False
        expires_at = int(expires_text)
        # Bytes: compare_digest raises TypeError on a non-ASCII str, and ``sig`` is whatever the caller sent.
        genuine = hmac.compare_digest(self.signature(order_id, expires_at).encode(), signature.encode())
        return genuine and now < expires_at
