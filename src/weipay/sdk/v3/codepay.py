"""付款码 (payment code) over API v3: ``POST /v3/pay/transactions/codepay`` and its reverse.

The charge answers with the order itself (a :class:`~weipay.sdk.v3.models.Transaction`). Only
``trade_state`` SUCCESS is a payment; ``USERPAYING`` (the buyer is confirming), a 202, and the codes that
leave the charge undecided (``SYSTEM_ERROR``, ``BANK_ERROR``, 5xx) raise
:class:`~weipay.sdk.errors.PaymentPending`: query every ~5 s, reverse after ~30 s, never charge again.
Payment codes have no notification: the answer and the queries are the only news of the money.

Which v3 error codes the charge uses beyond the common ones is not published in the material we could
read; ``USERPAYING`` as a 202/403 code, ``BANK_ERROR`` and ``AUTH_CODE_*`` are read defensively.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigurationError, PaymentPending, WeChatRefused
from ..operation import Api, Context, HttpRequest, HttpResponse
from ..v2.micropay import check_auth_code
from ._json import dump_json, load_json_object
from ._request import JSON_HEADERS, path_segment, read_model
from ._validate import check_amount_fen, check_client_ip, check_out_trade_no, check_text
from .models import Transaction
from .responses import expect_status, refusal

__all__ = ["PENDING_CODES", "CodepayOrder", "ReverseOrder", "StoreInfo"]

#: Answers after which nobody knows yet whether the buyer pays.
PENDING_CODES = frozenset({"USERPAYING", "USER_PAYING", "SYSTEM_ERROR", "SYSTEMERROR", "BANK_ERROR", "BANKERROR"})
_OPEN_STATES = frozenset({"USERPAYING", "NOTPAY", "ACCEPT"})


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """``scene_info.store_info``: the merchant's store (``id`` as registered, ``out_id`` the merchant's own code)."""

    id: str
    out_id: str | None = None

    def body(self) -> dict[str, Any]:
        """The JSON object."""
        check_text("store_info.id", self.id, max_chars=32)
        if self.out_id is not None:
            check_text("store_info.out_id", self.out_id, max_chars=32)
        return {"id": self.id, "out_id": self.out_id}


@dataclass(frozen=True, slots=True)
class CodepayOrder:
    """Charge the buyer's payment code: ``POST /v3/pay/transactions/codepay`` → a paid :class:`Transaction`.

    Raises :class:`PaymentPending` while the outcome is open and ``WeChatRefused`` for a definite no (or a
    ``trade_state`` such as PAYERROR). Not idempotent: resolve a lost answer by querying ``out_trade_no``.
    ``auth_code`` is kept out of ``repr``.
    """

    appid: str
    description: str
    out_trade_no: str
    amount_fen: int
    auth_code: str = field(repr=False)
    attach: str | None = None
    goods_tag: str | None = None
    device_id: str | None = None
    device_ip: str | None = None
    store_info: StoreInfo | None = None

    def _validate(self) -> None:
        check_text("appid", self.appid, max_chars=32)
        check_text("description", self.description, max_chars=127)
        check_out_trade_no(self.out_trade_no)
        check_amount_fen("amount_fen", self.amount_fen)
        check_auth_code(self.auth_code)
        for name in ("attach", "goods_tag", "device_id"):
            value = getattr(self, name)
            if value is not None:
                check_text(name, value, max_chars=128 if name == "attach" else 32)
        if self.device_ip is not None:
            check_client_ip(self.device_ip)
        if self.store_info is not None and not isinstance(self.store_info, StoreInfo):
            raise ConfigurationError("store_info must be a StoreInfo")

    def body(self, mchid: str) -> dict[str, Any]:
        """The request object (``None`` members are dropped when serialised)."""
        scene: dict[str, Any] = {
            "device_id": self.device_id,
            "device_ip": self.device_ip,
            "store_info": self.store_info.body() if self.store_info is not None else None,
        }
        return {
            "appid": self.appid,
            "mchid": mchid,
            "description": self.description,
            "out_trade_no": self.out_trade_no,
            "attach": self.attach,
            "goods_tag": self.goods_tag,
            "payer": {"auth_code": self.auth_code},
            "amount": {"total": self.amount_fen, "currency": "CNY"},
            "scene_info": scene if any(value is not None for value in scene.values()) else None,
        }

    def build(self, ctx: Context) -> HttpRequest:
        """Validate, then ``POST`` the charge (never resent by the client once it may have arrived)."""
        self._validate()
        return HttpRequest(
            api=Api.V3,
            method="POST",
            path="/v3/pay/transactions/codepay",
            body=dump_json(self.body(ctx.credentials.mchid)),
            headers=JSON_HEADERS,
        )

    def parse(self, response: HttpResponse, ctx: Context) -> Transaction:
        """The paid order; :class:`PaymentPending` while open; ``WeChatRefused`` when it failed."""
        if response.status == 202:
            raise PaymentPending("USERPAYING", "WeChat accepted the charge; the buyer is confirming",
                                 request_id=response.request_id)  # fmt: skip
        if not 200 <= response.status < 300:
            refused = refusal(response)
            if refused.code in PENDING_CODES or response.status >= 500:
                raise PaymentPending(refused.code, refused.message, request_id=response.request_id) from refused
            raise refused
        expect_status(response, 200)
        data = load_json_object(response.body, "codepay answer")
        transaction = read_model(Transaction.from_json, data, response)
        if transaction.trade_state == "SUCCESS":
            return transaction
        if transaction.trade_state in _OPEN_STATES:
            raise PaymentPending(transaction.trade_state, transaction.trade_state_desc or "the buyer is confirming",
                                 request_id=response.request_id)  # fmt: skip
        raise WeChatRefused(transaction.trade_state, transaction.trade_state_desc or "the charge failed",
                            status=response.status, request_id=response.request_id, retry=False)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReverseOrder:
    """``POST /v3/pay/transactions/out-trade-no/{out_trade_no}/reverse`` with ``{"appid", "mchid"}``.

    Closes an unpaid payment-code order for good or refunds a paid one. Safe to repeat. WeChat's direct
    merchant answer is documented as empty; 200 with a body and 204 are both taken as done.
    """

    appid: str
    out_trade_no: str

    def build(self, ctx: Context) -> HttpRequest:
        """The reverse request."""
        check_text("appid", self.appid, max_chars=32)
        segment = path_segment(check_out_trade_no(self.out_trade_no))
        return HttpRequest(
            api=Api.V3,
            method="POST",
            path=f"/v3/pay/transactions/out-trade-no/{segment}/reverse",
            body=dump_json({"appid": self.appid, "mchid": ctx.credentials.mchid}),
            headers=JSON_HEADERS,
            idempotent=True,
        )

    def parse(self, response: HttpResponse, ctx: Context) -> None:
        """Nothing when done; ``WeChatRefused`` otherwise (``SYSTEM_ERROR`` is retried by the client)."""
        expect_status(response, 200, 204)
