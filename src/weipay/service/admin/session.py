"""Console sessions: HTTP Basic credentials, signed session cookies, and CSRF tokens (who may log in: ``operators``).

A session cookie is ``<id>.<expires>.<operator>.<mac>``; the MAC covers the rest under the app's
secret, so it cannot be forged or extended. The CSRF token is an HMAC of the session id: a form
posted from another site cannot know it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

__all__ = ["COOKIE_NAME", "ConsoleSession", "SessionCodec", "basic_credentials"]

COOKIE_NAME = "weipay_console"
SESSION_TTL_S = 8 * 3600


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A logged-in operator."""

    session_id: str
    operator: str
    expires_at: int


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """``(user, password)`` from an HTTP Basic header, if any."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


class SessionCodec:
    """Issues and reads session cookies and CSRF tokens."""

    def __init__(self, secret: bytes, clock: Callable[[], float]) -> None:
        self._secret = hashlib.sha256(b"console:" + secret).digest()
        self._clock = clock

    def _mac(self, message: str) -> str:
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()

    def issue(self, operator: str) -> str:
        """A new cookie value for ``operator``."""
        safe_operator = "".join(c for c in operator if c.isalnum() or c in "-_")[:32] or "operator"
        body = f"{secrets.token_hex(16)}.{int(self._clock()) + SESSION_TTL_S}.{safe_operator}"
        return f"{body}.{self._mac(body)}"

    def read(self, cookie: str | None) -> ConsoleSession | None:
        """The session in a cookie, if genuine and unexpired."""
        if not cookie or cookie.count(".") != 3:
            return None
        session_id, expires, operator, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac(f"{session_id}.{expires}.{operator}")):
            return None
        if not expires.isdigit() or int(expires) < self._clock():
            return None
        return ConsoleSession(session_id, operator, int(expires))

    def csrf_token(self, session: ConsoleSession) -> str:
        """The CSRF token forms of this session must send back."""
        return self._mac(f"csrf:{session.session_id}")[:40]

    def check_csrf(self, session: ConsoleSession, token: str) -> bool:
        """Constant-time check of a posted CSRF token."""
        return hmac.compare_digest(self.csrf_token(session), token)
