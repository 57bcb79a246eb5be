"""Who is asking: the operator's session from its cookie (stored server-side), or HTTP Basic for scripts; CSRF.

The cookie holds a random token; the database holds its hash (``usecases.operator_sessions``), so logging out
deletes the session and a copied cookie stops working at once. HTTP Basic (``admin.username``/``password``) is
checked on every request and has no session to end. Each form carries a CSRF token: an HMAC of the session's
hash under the app's secret, which a page on another site cannot know.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

from .. import usecases
from ..operators import check_credentials
from ..settings import AdminSettings
from ..usecases.ports import UnitOfWork

__all__ = ["COOKIE_NAME", "Operator", "Sessions", "basic_credentials"]

COOKIE_NAME = "weipay_console"


@dataclass(frozen=True, slots=True)
class Operator:
    """The person behind a request: their name, and the session's hash (what CSRF tokens and logout use).

    ``via_basic`` is True for HTTP Basic, which has no stored session.
    """

    name: str
    session_hash: str
    via_basic: bool = False


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


class Sessions:
    """Logs operators in and out, finds the operator of a request, makes and checks CSRF tokens."""

    def __init__(self, uow: UnitOfWork, clock: Callable[[], float], admin: AdminSettings, secret: bytes) -> None:
        self._uow = uow
        self._clock = clock
        self._admin = admin
        self._secret = hashlib.sha256(b"console:" + secret).digest()

    def log_in(self, *, api_key: str = "", username: str = "", password: str = "") -> str | None:
        """A new session's cookie token if the key or user/password is right, else None."""
        name = check_credentials(self._admin, api_key=api_key, username=username, password=password)
        if name is None:
            return None
        token, _session = usecases.start_operator_session(self._uow, self._clock, name)
        return token

    def log_out(self, operator: Operator) -> None:
        """End the operator's session on the server (HTTP Basic has none)."""
        if not operator.via_basic:
            usecases.end_operator_session(self._uow, operator.session_hash)

    def operator(self, request: Request) -> Operator | None:
        """The operator of a live session cookie, or of correct HTTP Basic credentials; else None."""
        session = usecases.find_operator_session(self._uow, self._clock, request.cookies.get(COOKIE_NAME))
        if session is not None:
            return Operator(session.operator, session.session_hash)
        basic = basic_credentials(request)
        if basic is None:
            return None
        name = check_credentials(self._admin, username=basic[0], password=basic[1])
        if name is None:
            return None
        return Operator(name, hashlib.sha256(b"basic:" + self._secret + name.encode()).hexdigest(), via_basic=True)

    def csrf_token(self, operator: Operator) -> str:
        """The token this operator's forms must send back."""
        return hmac.new(self._secret, f"csrf:{operator.session_hash}".encode(), hashlib.sha256).hexdigest()[:40]

    def check_csrf(self, operator: Operator, token: str) -> bool:
        """Constant-time check of a posted CSRF token."""
        return hmac.compare_digest(self.csrf_token(operator).encode(), token.encode())
