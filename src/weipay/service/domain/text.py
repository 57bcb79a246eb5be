"""WeChat's rules for the merchant's free text, checked once where the text enters (order, refund, payment).

Text accepted here must never fail later: a NUL is refused by PostgreSQL, a control character or an edge space
by the v2 XML signature (readers trim values), and WeChat counts lengths in UTF-8 bytes (API v3 answers
``字节数 381，大于最大值 127`` for a description of 127 Chinese characters: each is three bytes). An order may be
paid over either API, so its text must fit the tighter of the two: description 127 bytes (v3; v2 ``body`` takes
128), attach 127 bytes (v2; v3 takes 128).
"""

from __future__ import annotations

import re
import unicodedata

from .errors import InvalidInput

__all__ = ["check_auth_code", "check_openid", "check_text"]

# WeChat's openids are 28 characters today; v2 takes up to 128 of these and refuses anything else.
_OPENID = re.compile(r"[0-9A-Za-z_-]{1,128}")


def check_text(
    field: str, value: str | None, *, max_chars: int | None = None, max_bytes: int | None = None,
    required: bool = False,
) -> None:  # fmt: skip
    """``invalid_<field>`` (422) unless ``value`` is printable text within the limits (or absent)."""
    if value is None:
        if required:
            raise InvalidInput(f"invalid_{field}", f"{field} is required")
        return
    if required and not value:
        raise InvalidInput(f"invalid_{field}", f"{field} must not be empty")
    if max_chars is not None and len(value) > max_chars:
        raise InvalidInput(f"invalid_{field}", f"{field} must be at most {max_chars} characters, got {len(value)}",
                           max_chars=max_chars)  # fmt: skip
    size = len(value.encode("utf-8", "surrogatepass"))
    if max_bytes is not None and size > max_bytes:
        raise InvalidInput(
            f"invalid_{field}",
            f"{field} must be at most {max_bytes} bytes in UTF-8 as WeChat counts them (a Chinese character is 3), "
            f"got {size}",
            max_bytes=max_bytes,
        )
    for position, char in enumerate(value):
        if unicodedata.category(char) in ("Cc", "Cs"):  # controls (NUL included) and lone surrogates
            raise InvalidInput(
                f"invalid_{field}",
                f"{field} contains a control or invalid character (U+{ord(char):04X}) at {position}; remove it",
            )
    if value != value.strip():
        raise InvalidInput(f"invalid_{field}", f"{field} must not start or end with whitespace")


def check_openid(field: str, value: str | None) -> None:
    """``invalid_<field>`` (422) unless ``value`` looks like an openid WeChat issued (or is absent)."""
    if value is not None and not _OPENID.fullmatch(value):
        raise InvalidInput(f"invalid_{field}", f"{field} must be 1-128 characters of 0-9 A-Z a-z _ - (WeChat's)")


_AUTH_CODE = re.compile(r"1[0-5][0-9]{16}")


def check_auth_code(value: str | None) -> str:
    """``invalid_auth_code`` (422) unless ``value`` is a WeChat payment code (18 digits starting 10-15).

    The message never repeats the value: a payment code is a payment credential.
    """
    if value is None or not _AUTH_CODE.fullmatch(value):
        raise InvalidInput("invalid_auth_code", "auth_code must be the payer's WeChat payment code: 18 digits "
                           "starting with 10 to 15")  # fmt: skip
    return value
