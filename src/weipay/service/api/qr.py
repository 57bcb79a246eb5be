"""QR images for native payments: the ``code_url`` drawn as SVG, behind a signed URL.

An ``<img src>`` cannot send a bearer token, so the image URL carries an HMAC of the order id and
attempt number under the app's secret instead; without it the image is 404, so order ids alone reveal
nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import io

import segno

__all__ = ["QrSigner", "qr_svg"]


def qr_svg(text: str, *, scale: int = 4) -> bytes:
    """``text`` as a QR code in SVG (error correction M, WeChat's scanner reads it at any size)."""
    image = segno.make(text, error="m")
    buffer = io.BytesIO()
    image.save(buffer, kind="svg", scale=scale, xmldecl=False)
    return buffer.getvalue()


class QrSigner:
    """Signs and checks the ``sig`` parameter of QR image URLs."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def signature(self, order_id: str, seq: int) -> str:
        """The URL-safe signature for one attempt's image."""
        message = f"qr:{order_id}:{seq}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def path(self, order_id: str, seq: int) -> str:
        """The image path (relative to the service's base URL)."""
        return f"/v1/orders/{order_id}/payments/{seq}/qr.svg?sig={self.signature(order_id, seq)}"

    def check(self, order_id: str, seq: int, signature: str) -> bool:
        """Constant-time comparison."""
        # Bytes: compare_digest raises TypeError on a non-ASCII str, and ``sig`` is whatever the caller sent.
        return hmac.compare_digest(self.signature(order_id, seq).encode(), signature.encode())
