"""The one exception tree of the SDK.

::

    WeChatPayError                      every error the SDK raises
    ├── ConfigurationError              credentials or arguments are wrong; fix the code or config
    ├── SignatureError                  a signature, timestamp or ciphertext did not verify
    │   └── SignTestProbe               WeChat's deliberate ``WECHATPAY/SIGNTEST/`` probe
    ├── ProtocolError                   an answer we cannot parse (bad XML/JSON, missing fields)
    ├── OutcomeUnknown                  we cannot tell whether WeChat acted: query before retrying
    │   ├── TransportError              connect/read failure or timeout after sending
    │   ├── UnverifiableResponse        a 2xx answer whose signature did not verify
    │   └── PaymentPending              a payment-code charge is not final (USERPAYING…): query, then reverse
    └── WeChatRefused                   WeChat answered and said no (code, message, status)
        └── AccessTokenRejected         the mini-program access_token is invalid or expired: refresh, retry once

Callers decide with two questions: did WeChat refuse (``WeChatRefused``: read ``code``), or is the
outcome unknown (``OutcomeUnknown``: query with the same identifiers, never mint new ones)?
Messages never contain secrets.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AccessTokenRejected",
    "ConfigurationError",
    "OutcomeUnknown",
    "PaymentPending",
    "ProtocolError",
    "SignTestProbe",
    "SignatureError",
    "TransportError",
    "UnverifiableResponse",
    "WeChatPayError",
    "WeChatRefused",
]


class WeChatPayError(Exception):
    """Base of every error raised by ``weipay.sdk``."""

    request_id: str | None = None

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id


class ConfigurationError(WeChatPayError):
    """Credentials, keys or arguments are unusable; nothing was sent."""


class SignatureError(WeChatPayError):
    """A signature, timestamp window or AEAD tag did not verify. Never retry blindly."""


class SignTestProbe(SignatureError):
    """WeChat's signature probe (``WECHATPAY/SIGNTEST/…``): reject it like any bad signature."""


class ProtocolError(WeChatPayError):
    """The peer's message is malformed: unparsable, unsafe XML, or missing required fields."""


class OutcomeUnknown(WeChatPayError):
    """The request may or may not have taken effect at WeChat. Query, or retry with identical ids."""

    retryable = True


class TransportError(OutcomeUnknown):
    """Connecting, sending or reading failed (including timeouts)."""


class UnverifiableResponse(OutcomeUnknown):
    """WeChat's answer arrived but its signature did not verify; it may be forged."""


class PaymentPending(OutcomeUnknown):
    """A payment-code charge (v2 micropay, v3 codepay) that WeChat has not finished: the buyer may still pay.

    ``code`` is WeChat's reason: ``USERPAYING`` (the buyer is confirming, e.g. entering a password) or a
    code that leaves the charge undecided (``SYSTEMERROR``, ``BANKERROR``, ``SYSTEM_ERROR``, ``BANK_ERROR``,
    an HTTP 5xx). Never send the charge again and never read it as failed: query the order about every
    5 s, and reverse it (which refunds a payment that went through) when it has not succeeded in ~30 s.
    """

    def __init__(self, code: str, message: str, *, request_id: str | None = None) -> None:
        super().__init__(f"{code}: {message}", request_id=request_id)
        self.code = code

    @property
    def user_paying(self) -> bool:
        """True when WeChat said the buyer is still confirming (``USERPAYING``)."""
        return self.code == "USERPAYING"

    def __repr__(self) -> str:
        return f"PaymentPending(code={self.code!r}, request_id={self.request_id!r})"


# Codes WeChat documents as "retry with the same parameters". Everything else is final.
_RETRYABLE_CODES = frozenset(
    {
        "SYSTEMERROR",
        "SYSTEM_ERROR",
        "SYSTEM_BUSY",
        "BIZERR_NEED_RETRY",
        "FREQUENCY_LIMITED",
        "INVALID_REQ_TOO_MUCH",
        "SERVICE_UNAVAILABLE",
        "BANK_ERROR",
        "RATELIMIT_EXCEEDED",
    }
)


class WeChatRefused(WeChatPayError):
    """WeChat answered with an error.

    ``code`` is WeChat's own (``ORDERPAID``, ``PARAM_ERROR``…), ``status`` the HTTP status,
    ``retryable`` whether WeChat documents a retry with identical parameters. An answer may say so
    itself (v2 reverse's ``recall=Y``): ``retry`` then overrides what the code alone would say.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        detail: Any = None,
        request_id: str | None = None,
        retry: bool | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}", request_id=request_id)
        self.code = code
        self.message = message
        self.status = status
        self.detail = detail
        self._retry = retry

    @property
    def retryable(self) -> bool:
        """True when WeChat documents retrying with the same parameters (or its answer asked for it)."""
        if self._retry is not None:
            return self._retry
        return self.code in _RETRYABLE_CODES or (self.status is not None and self.status >= 500)

    def __repr__(self) -> str:
        return f"WeChatRefused(code={self.code!r}, status={self.status!r}, request_id={self.request_id!r})"


class AccessTokenRejected(WeChatRefused):
    """The mini-program API refused the ``access_token`` (errcode 40001, 40014 or 42001).

    Nothing was done. Retrying the identical request cannot help, so ``retryable`` is False; the cure
    is a fresh token and one more try, which :func:`weipay.sdk.call_with_access_token` does by itself.
    """

    @property
    def retryable(self) -> bool:
        """Never with the same token: refresh it first."""
        return False
