"""付款码 (payment code) over API v2: charge the code a buyer shows (``/pay/micropay``) and reverse it
(``/secapi/pay/reverse``, mutual TLS).

A micropay answer is final only when it says SUCCESS or names a definite refusal (``AUTHCODEEXPIRE``,
``NOTENOUGH``…). ``USERPAYING`` (the buyer is entering a password), ``SYSTEMERROR`` and ``BANKERROR``
leave the charge undecided and raise :class:`~weipay.sdk.errors.PaymentPending`: WeChat's rule is to query
the order every ~5 s and to reverse it when it has not succeeded within ~30 s, never to charge again.
A reverse answered ``recall=Y`` asks to be sent again, so its refusal is retryable whatever its code.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import ConfigurationError, PaymentPending, WeChatRefused
from ..operation import Context, HttpRequest, HttpResponse
from . import _checks as check
from ._fields import format_compact_time, optional, optional_compact_time, optional_fen, required, required_fen
from .envelope import check_response, signed_request
from .signing import SignType

__all__ = [
    "AUTH_CODE_PATTERN",
    "PENDING_CODES",
    "Micropay",
    "Reverse",
    "V2MicropayResult",
    "V2ReverseResult",
    "check_auth_code",
]

#: WeChat's payment codes: 18 digits starting 10–15 (other wallets' codes have other shapes).
AUTH_CODE_PATTERN = re.compile(r"1[0-5][0-9]{16}")
#: err_codes after which nobody knows yet whether the buyer pays: query, then reverse.
PENDING_CODES = frozenset({"USERPAYING", "SYSTEMERROR", "BANKERROR"})


def check_auth_code(value: object) -> str:
    """The buyer's payment code, checked for shape only (never echoed: it is a payment credential)."""
    if not isinstance(value, str) or AUTH_CODE_PATTERN.fullmatch(value) is None:
        raise ConfigurationError("auth_code must be WeChat's payment code: 18 digits starting with 10 to 15")
    return value


@dataclass(frozen=True, slots=True)
class V2MicropayResult:
    """``/pay/micropay`` succeeded: the buyer has paid. Coupon fields stay in ``raw``."""

    out_trade_no: str
    transaction_id: str
    total_fee_fen: int
    cash_fee_fen: int | None
    fee_type: str | None
    openid: str | None
    trade_type: str | None
    bank_type: str | None
    attach: str | None
    time_end: dt.datetime | None
    raw: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class V2ReverseResult:
    """``/secapi/pay/reverse`` done: an unpaid order is closed for good, a paid one refunded to the buyer."""

    out_trade_no: str | None
    raw: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Micropay:
    """``POST /pay/micropay``: charge the buyer's payment code → :class:`V2MicropayResult`.

    Raises :class:`~weipay.sdk.errors.PaymentPending` while the outcome is open and ``WeChatRefused`` for a
    definite no (``AUTHCODEEXPIRE``, ``AUTH_CODE_INVALID``, ``NOTENOUGH``, ``ORDERPAID``…). Not idempotent:
    a lost answer is resolved by querying ``out_trade_no``, never by charging the code again.
    ``auth_code`` is kept out of ``repr``.
    """

    appid: str
    body: str
    out_trade_no: str
    total_fee_fen: int
    spbill_create_ip: str
    auth_code: str = field(repr=False)
    device_info: str | None = None
    attach: str | None = None
    detail: str | None = None
    goods_tag: str | None = None
    time_expire: dt.datetime | None = None
    sign_type: SignType = SignType.MD5

    def __post_init__(self) -> None:
        check.sign_type(self.sign_type)
        self._fields()

    def _fields(self) -> dict[str, str | None]:
        fields: dict[str, str | None] = {
            "appid": check.token(self.appid, "appid"),
            "body": check.text(self.body, "body", 127),
            "out_trade_no": check.out_trade_no(self.out_trade_no),
            "total_fee": str(check.fen(self.total_fee_fen, "total_fee_fen")),
            "spbill_create_ip": check.ip_address(self.spbill_create_ip),
            "auth_code": check_auth_code(self.auth_code),
            "device_info": check.text(self.device_info, "device_info", 32, required=False),
            "attach": check.text(self.attach, "attach", 127, required=False),
            "detail": check.text(self.detail, "detail", 6000, required=False),
            "goods_tag": check.text(self.goods_tag, "goods_tag", 32, required=False),
        }
        if self.time_expire is not None:
            fields["time_expire"] = format_compact_time(check.aware(self.time_expire, "time_expire"))
        return fields

    def build(self, ctx: Context) -> HttpRequest:
        """The signed request (never retried by the client after it may have reached WeChat)."""
        return signed_request(ctx, "/pay/micropay", self._fields(), sign_type=check.sign_type(self.sign_type))

    def parse(self, response: HttpResponse, ctx: Context) -> V2MicropayResult:
        """The payment; :class:`PaymentPending` for an open outcome, ``WeChatRefused`` for a definite no."""
        try:
            fields = check_response(response, ctx, appid=self.appid, sign_type=check.sign_type(self.sign_type))
        except WeChatRefused as refused:
            if refused.code in PENDING_CODES or (refused.status is not None and refused.status >= 500):
                raise PaymentPending(refused.code, refused.message, request_id=refused.request_id) from refused
            raise
        return V2MicropayResult(
            out_trade_no=required(fields, "out_trade_no"),
            transaction_id=required(fields, "transaction_id"),
            total_fee_fen=required_fen(fields, "total_fee"),
            cash_fee_fen=optional_fen(fields, "cash_fee"),
            fee_type=optional(fields, "fee_type"),
            openid=optional(fields, "openid"),
            trade_type=optional(fields, "trade_type"),
            bank_type=optional(fields, "bank_type"),
            attach=optional(fields, "attach"),
            time_end=optional_compact_time(fields, "time_end"),
            raw=dict(fields),
        )


@dataclass(frozen=True, slots=True)
class Reverse:
    """``POST /secapi/pay/reverse`` (mutual TLS) → :class:`V2ReverseResult`.

    Closes an unpaid payment-code order for good, or refunds a paid one (within 7 days of the order).
    Safe to repeat: the client resends it on a lost answer and when WeChat answers ``recall=Y``.
    WeChat asks for at least 15 s between the charge and its reverse.
    """

    appid: str
    out_trade_no: str | None = None
    transaction_id: str | None = None
    sign_type: SignType = SignType.MD5

    def __post_init__(self) -> None:
        check.sign_type(self.sign_type)
        self._fields()

    def _fields(self) -> dict[str, str | None]:
        name, value = check.exactly_one({"out_trade_no": self.out_trade_no, "transaction_id": self.transaction_id})
        value = check.out_trade_no(value) if name == "out_trade_no" else check.token(value, name)
        return {"appid": check.token(self.appid, "appid"), name: value}

    def build(self, ctx: Context) -> HttpRequest:
        """The signed request; the client must present the merchant certificate."""
        sign_type = check.sign_type(self.sign_type)
        return signed_request(ctx, "/secapi/pay/reverse", self._fields(), sign_type=sign_type, idempotent=True,
                              mtls=True)  # fmt: skip

    def parse(self, response: HttpResponse, ctx: Context) -> V2ReverseResult:
        """Done, or ``WeChatRefused`` (retryable when WeChat answered ``recall=Y``)."""
        try:
            fields = check_response(response, ctx, appid=self.appid, sign_type=check.sign_type(self.sign_type))
        except WeChatRefused as refused:
            recall = isinstance(refused.detail, Mapping) and refused.detail.get("recall") == "Y"
            if not recall:
                raise
            raise WeChatRefused(refused.code, refused.message, status=refused.status, detail=refused.detail,
                                request_id=refused.request_id, retry=True) from refused  # fmt: skip
        if fields.get("recall") == "Y":
            raise WeChatRefused("RECALL", "WeChat asks to send the reverse again (recall=Y)", status=response.status,
                                request_id=response.request_id, retry=True)  # fmt: skip
        return V2ReverseResult(out_trade_no=optional(fields, "out_trade_no"), raw=dict(fields))
