"""Domain errors: every refusal the service makes carries a machine-readable ``code``.

::

    DomainError                 base; ``code``, ``message``, ``kind``
    ├── NotFound                kind=not_found   (order_not_found, refund_not_found, ...)
    ├── Conflict                kind=conflict    (order_already_paid, idempotency_conflict, invalid_transition, ...)
    ├── InvalidInput            kind=invalid     (invalid_amount, invalid_currency, channel_not_supported, ...)
    ├── Forbidden               kind=forbidden   (order_not_owned, ...)
    ├── UpstreamError           kind=upstream    (wechat_refused, payment_outcome_unknown, ...)
    └── Busy                    kind=busy        (wechat_busy: too many calls waiting on WeChat; retry after)

The web layer maps ``kind`` to an HTTP status in one place; ``code`` goes to the client unchanged.
Messages never contain secrets.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = [
    "Busy",
    "Conflict",
    "DomainError",
    "ErrorKind",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "UpstreamError",
]


class ErrorKind(StrEnum):
    """What the caller should do: fix the reference, resolve the conflict, fix the input, or retry later."""

    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    INVALID = "invalid"
    FORBIDDEN = "forbidden"
    UPSTREAM = "upstream"
    BUSY = "busy"


class DomainError(Exception):
    """A refusal with a stable ``code`` (snake_case) and a human ``message``."""

    kind: ErrorKind = ErrorKind.CONFLICT

    def __init__(self, code: str, message: str, **detail: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.detail = detail

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class NotFound(DomainError):
    """The referenced order, refund or attempt does not exist (for this merchant)."""

    kind = ErrorKind.NOT_FOUND


class Conflict(DomainError):
    """The request contradicts the current state (already paid, closed, different idempotent body...)."""

    kind = ErrorKind.CONFLICT


class InvalidInput(DomainError):
    """The request itself is malformed: amount, currency, channel, identifiers."""

    kind = ErrorKind.INVALID


class Forbidden(DomainError):
    """The caller may not act on this resource (e.g. a mini-program user on someone else's order)."""

    kind = ErrorKind.FORBIDDEN


class UpstreamError(DomainError):
    """WeChat refused, or the outcome is unknown; ``detail`` carries WeChat's code when there is one."""

    kind = ErrorKind.UPSTREAM


class Busy(DomainError):
    """Too much is already waiting on WeChat for this merchant: nothing was done; retry after ``retry_after_s``."""

    kind = ErrorKind.BUSY
