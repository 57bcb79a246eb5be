"""The gateway: the use cases' port to WeChat Pay, implemented over ``weipay.sdk``.

Its WeChat methods are flows (see ``_calls``): they yield each call and decide what the answer means, and
:meth:`WeChatGateway.run` drives one with the blocking clients (the worker, the CLI); ``AsyncWeChat``
drives the same flows on the event loop for the API.

It maps every SDK outcome to SUCCEEDED / FAILED / PENDING / UNKNOWN and hands back a call-log
record with each answer (the use case stores it in the same transaction as the state change).
Timeouts, unverifiable answers and WeChat's "retry with the same parameters" codes are UNKNOWN,
never FAILED. A v2 refund refused with NOTENOUGH (unsettled funds short) is retried once from the
recharge funds (``REFUND_SOURCE_RECHARGE_FUNDS``); v3 likewise with ``funds_account=AVAILABLE``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, TypeVar

from weipay.sdk import Client, MemoryTokenCache, TokenCache
from weipay.sdk import v2 as sdk_v2
from weipay.sdk import v3 as sdk_v3
from weipay.sdk.clock import system_clock
from weipay.sdk.crypto import certificate_serial, load_certificate
from weipay.sdk.errors import WeChatPayError
from weipay.sdk.miniprogram import Code2Session
from weipay.sdk.oauth import OAuthAccessToken
from weipay.service.domain import ApiVersion, Channel, NotFound, PaymentAttempt, Refund, Shipment, UpstreamError
from weipay.service.usecases.ports import (
    AbnormalRefundApplication,
    BillEntry,
    CloseAnswer,
    CredentialExpiry,
    LoginAnswer,
    Outcome,
    PaymentStatus,
    PrepayAnswer,
    RefundAnswer,
    ShippingAnswer,
    ShippingState,
)

from ._calls import CallResult, Calls, Exchange, call_blocking, normalise_code
from ._order_options import H5Site, v2_arguments, v3_arguments
from .shipping import query_shipping_flow, upload_shipping_flow

__all__ = ["RECHARGE_FUNDS", "WeChatGateway"]

T = TypeVar("T")

RECHARGE_FUNDS = "REFUND_SOURCE_RECHARGE_FUNDS"
_V3_AVAILABLE_FUNDS = "AVAILABLE"
_PAID = frozenset({"SUCCESS", "REFUND"})
_OPEN = frozenset({"NOTPAY", "USERPAYING"})
_V2_TRADE_TYPE = {
    Channel.JSAPI: "JSAPI",
    Channel.MINIPROGRAM: "JSAPI",
    Channel.NATIVE: "NATIVE",
    Channel.APP: "APP",
    Channel.H5: "MWEB",
}
_V3_CHANNEL = {
    Channel.JSAPI: "jsapi",
    Channel.MINIPROGRAM: "jsapi",
    Channel.NATIVE: "native",
    Channel.APP: "app",
    Channel.H5: "h5",
}
_NOT_FOUND_CODES = frozenset({"ORDERNOTEXIST", "RESOURCE_NOT_EXISTS", "REFUNDNOTEXIST"})


def _ts(moment: dt.datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


class WeChatGateway:
    """One gateway for every configured merchant: ``clients`` maps mchid to its SDK client.

    ``notify_base_url`` is the service's public base URL; notifications go to
    ``{notify_base_url}/notify/wechatpay/{api}/{mchid}``. ``h5_sites`` names each merchant's mobile site for
    H5 payments (``h5_info``); the order's options (goods, coupon tag, store…) travel on each attempt. ``tokens``
    keeps the mini-program access tokens of the shipping calls (the database's cache in the service, so every
    process shares one token per app).
    """

    def __init__(
        self,
        clients: Mapping[str, Client],
        *,
        notify_base_url: str,
        clock: Callable[[], float] = system_clock,
        h5_sites: Mapping[str, H5Site] | None = None,
        tokens: TokenCache | None = None,
    ) -> None:
        self._clients = dict(clients)
        self._notify_base_url = notify_base_url.rstrip("/")
        self._clock = clock
        self._h5_sites = dict(h5_sites or {})
        self.tokens: TokenCache = tokens if tokens is not None else MemoryTokenCache()

    def _h5_site(self, mchid: str) -> H5Site:
        # A merchant without its own site settings is named by the service's public address.
        return self._h5_sites.get(mchid) or H5Site(self._notify_base_url, mchid)

    def client(self, mchid: str) -> Client:
        """The SDK client of merchant ``mchid``."""
        try:
            return self._clients[mchid]
        except KeyError:
            raise NotFound("merchant_not_found", f"no merchant {mchid[:32]!r} is configured") from None

    def notify_url(self, mchid: str, api: ApiVersion) -> str:
        """Where WeChat sends this merchant's notifications for ``api``."""
        return f"{self._notify_base_url}/notify/wechatpay/{ApiVersion(api).value}/{mchid}"

    def run(self, calls: Calls[T]) -> T:
        """Drive a flow to its end, making each WeChat call with the merchant's blocking client."""
        result: CallResult | None = None
        while True:
            try:
                exchange = calls.send(result)  # type: ignore[arg-type]  # a fresh generator takes None first
            except StopIteration as stop:
                value: T = stop.value
                return value
            result = call_blocking(self.client(exchange.mchid), exchange, self._clock)

    def _exchange(
        self,
        mchid: str,
        api: ApiVersion | str,
        endpoint: str,
        operation: Callable[[], Any],
        request: dict[str, Any],
        describe: Callable[[Any], dict[str, Any]],
        *,
        tokens: TokenCache | None = None,
    ) -> Exchange:
        """One call of merchant ``mchid`` (``merchant_not_found`` if none is configured)."""
        self.client(mchid)
        return Exchange(mchid, str(getattr(api, "value", api)), endpoint, operation, request, describe, tokens)

    # -- mini-program shipping ---------------------------------------------------------------------------

    def upload_shipping(self, shipment: Shipment) -> Calls[ShippingAnswer]:
        """Upload ``shipment`` with the app's access token (see ``gateway.shipping``)."""
        return upload_shipping_flow(self._exchange, self.tokens, shipment)

    def query_shipping(self, mchid: str, appid: str, transaction_id: str) -> Calls[ShippingState]:
        """The platform's shipping state of one payment."""
        return query_shipping_flow(self._exchange, self.tokens, mchid, appid, transaction_id)

    # -- payments ------------------------------------------------------------------------------------

    def create_payment(self, attempt: PaymentAttempt) -> Calls[PrepayAnswer]:
        """Create (or re-create with identical parameters) the WeChat order of ``attempt``."""
        expire = dt.datetime.fromtimestamp(attempt.time_expire, tz=dt.UTC)
        request = {
            "out_trade_no": attempt.out_trade_no, "channel": attempt.channel.value, "appid": attempt.appid,
            "amount_fen": attempt.amount_fen, "payer_openid": attempt.payer_openid,
        }  # fmt: skip
        operation: Any
        if attempt.api == ApiVersion.V3:
            operation = partial(sdk_v3.CreateOrder,
                channel=_V3_CHANNEL[attempt.channel], appid=attempt.appid, description=attempt.description,  # type: ignore[arg-type]
                out_trade_no=attempt.out_trade_no, amount_fen=attempt.amount_fen, notify_url=attempt.notify_url,
                payer_openid=attempt.payer_openid if attempt.channel in (Channel.JSAPI, Channel.MINIPROGRAM) else None,
                time_expire=expire, attach=attempt.attach, payer_client_ip=attempt.client_ip,
                **v3_arguments(attempt, self._h5_site(attempt.mchid)),
            )  # fmt: skip
            endpoint = f"v3/pay/transactions/{_V3_CHANNEL[attempt.channel]}"
        else:
            trade_type = _V2_TRADE_TYPE[attempt.channel]
            operation = partial(sdk_v2.UnifiedOrder,
                trade_type=trade_type, appid=attempt.appid, body=attempt.description,
                out_trade_no=attempt.out_trade_no, total_fee_fen=attempt.amount_fen,
                spbill_create_ip=attempt.client_ip or "127.0.0.1", notify_url=attempt.notify_url,
                openid=attempt.payer_openid if trade_type == "JSAPI" else None, attach=attempt.attach,
                time_expire=expire, **v2_arguments(attempt, self._h5_site(attempt.mchid)),
            )  # fmt: skip
            endpoint = "pay/unifiedorder"
        result = yield self._exchange(attempt.mchid, attempt.api, endpoint, operation, request, _describe_prepay)
        if result.value is not None:
            value = result.value
            h5_url = getattr(value, "h5_url", None) or getattr(value, "mweb_url", None)
            prepay_id = value.prepay_id if attempt.channel not in (Channel.NATIVE, Channel.H5) else None
            return PrepayAnswer(Outcome.SUCCEEDED, result.record, prepay_id=prepay_id or None,
                                code_url=value.code_url, h5_url=h5_url)  # fmt: skip
        code, message = _error_fields(result)
        return PrepayAnswer(_failure_outcome(result), result.record, error_code=code, error_message=message)

    def client_params(self, attempt: PaymentAttempt) -> dict[str, str]:
        """``wx.requestPayment`` (jsapi, miniprogram), APP ``PayReq`` (app), ``code_url`` or ``h5_url``."""
        if attempt.channel == Channel.NATIVE:
            return {"code_url": attempt.code_url or ""}
        if attempt.channel == Channel.H5:
            return {"h5_url": attempt.h5_url or ""}
        if not attempt.prepay_id:
            raise UpstreamError("payment_outcome_unknown", "no prepay_id yet; retry the request")
        client = self.client(attempt.mchid)
        if attempt.channel == Channel.APP:
            return client.app_params(attempt.prepay_id, appid=attempt.appid, api=attempt.api.value)
        return client.jsapi_params(attempt.appid, attempt.prepay_id, api=attempt.api.value)

    def query_payment(self, attempt: PaymentAttempt) -> Calls[PaymentStatus]:
        """Ask WeChat for the state of ``attempt``."""
        operation: Any
        if attempt.api == ApiVersion.V3:
            operation = partial(sdk_v3.QueryOrder, out_trade_no=attempt.out_trade_no)
            endpoint = "v3/pay/transactions/out-trade-no"
        else:
            operation = partial(sdk_v2.OrderQuery, appid=attempt.appid, out_trade_no=attempt.out_trade_no)
            endpoint = "pay/orderquery"
        request = {"out_trade_no": attempt.out_trade_no}
        result = yield self._exchange(attempt.mchid, attempt.api, endpoint, operation, request, _describe_order)
        if result.value is None:
            code = normalise_code(result.refused.code) if result.refused else None
            if code in _NOT_FOUND_CODES:
                return PaymentStatus(Outcome.FAILED, result.record, error_code="ORDERNOTEXIST")
            return PaymentStatus(Outcome.UNKNOWN, result.record, error_code=code)
        return _payment_status(result.value, result.record)

    def close_payment(self, attempt: PaymentAttempt) -> Calls[CloseAnswer]:
        """Close ``attempt`` at WeChat (FAILED with ``ORDERPAID`` if the payer got there first)."""
        operation: Any
        if attempt.api == ApiVersion.V3:
            operation = partial(sdk_v3.CloseOrder, out_trade_no=attempt.out_trade_no)
            endpoint = "v3/pay/transactions/close"
        else:
            operation = partial(sdk_v2.CloseOrder, appid=attempt.appid, out_trade_no=attempt.out_trade_no)
            endpoint = "pay/closeorder"
        request = {"out_trade_no": attempt.out_trade_no}
        result = yield self._exchange(
            attempt.mchid, attempt.api, endpoint, operation, request, lambda _value: {"closed": True}
        )
        if result.refused is None and result.unknown is None:
            return CloseAnswer(Outcome.SUCCEEDED, result.record)
        return CloseAnswer(_failure_outcome(result), result.record, error_code=_error_fields(result)[0])

    # -- refunds -------------------------------------------------------------------------------------

    def create_refund(self, refund: Refund) -> Calls[RefundAnswer]:
        """Submit ``refund`` (same ``out_refund_no`` on every retry); NOTENOUGH falls back to recharge funds."""
        answer = yield from self._submit_refund(refund, funds_source=refund.funds_source)
        if answer.error_code == "NOTENOUGH" and refund.funds_source is None:
            source = RECHARGE_FUNDS if refund.api == ApiVersion.V2 else _V3_AVAILABLE_FUNDS
            fallback = yield from self._submit_refund(refund, funds_source=source)
            source_used = source if fallback.outcome != Outcome.FAILED else None
            return dataclasses.replace(fallback, funds_source=source_used, earlier_calls=(answer.call,))
        return answer

    def _submit_refund(self, refund: Refund, *, funds_source: str | None) -> Calls[RefundAnswer]:
        client = self.client(refund.mchid)
        notify_url = self.notify_url(refund.mchid, refund.api)
        request = {
            "out_refund_no": refund.out_refund_no, "out_trade_no": refund.out_trade_no,
            "refund_fen": refund.amount_fen, "total_fen": refund.total_fen, "funds_source": funds_source,
        }  # fmt: skip
        operation: Any
        if refund.api == ApiVersion.V3:
            operation = partial(sdk_v3.CreateRefund,
                out_refund_no=refund.out_refund_no, refund_fen=refund.amount_fen, total_fen=refund.total_fen,
                out_trade_no=refund.out_trade_no, reason=refund.reason, notify_url=notify_url,
                funds_account=funds_source,
            )  # fmt: skip
            endpoint = "v3/refund/domestic/refunds"
        else:
            appid = self._attempt_appid(client)
            operation = partial(sdk_v2.Refund,
                appid=appid, out_refund_no=refund.out_refund_no, total_fee_fen=refund.total_fen,
                refund_fee_fen=refund.amount_fen, out_trade_no=refund.out_trade_no, refund_desc=refund.reason,
                refund_account=funds_source, notify_url=notify_url,
            )  # fmt: skip
            endpoint = "secapi/pay/refund"
        result = yield self._exchange(refund.mchid, refund.api, endpoint, operation, request, _describe_refund)
        if result.value is None:
            code, message = _error_fields(result)
            return RefundAnswer(_failure_outcome(result), result.record, error_code=code, error_message=message)
        value = result.value
        if refund.api == ApiVersion.V3:
            return _v3_refund_answer(value, result.record, funds_source)
        # v2 answers "accepted": the money moves later; the notification or a query tells the end.
        return RefundAnswer(Outcome.PENDING, result.record, refund_id=value.refund_id, status="PROCESSING",
                            refund_fen=value.refund_fee_fen, funds_source=funds_source)  # fmt: skip

    @staticmethod
    def _attempt_appid(client: Client) -> str:
        # v2 refunds carry an appid for the signature envelope; any of the merchant's appids is accepted.
        appids = client.credentials.appids
        for kind in ("miniprogram", "official_account", "app"):
            if appids.get(kind):
                return appids[kind]
        return next(iter(appids.values()))

    def query_refund(self, refund: Refund) -> Calls[RefundAnswer]:
        """Ask WeChat for the state of ``refund``."""
        client = self.client(refund.mchid)
        operation: Any
        if refund.api == ApiVersion.V3:
            operation = partial(sdk_v3.QueryRefund, out_refund_no=refund.out_refund_no)
            endpoint = "v3/refund/domestic/refunds/query"
        else:
            operation = partial(
                sdk_v2.RefundQuery, appid=self._attempt_appid(client), out_refund_no=refund.out_refund_no
            )
            endpoint = "pay/refundquery"
        request = {"out_refund_no": refund.out_refund_no}
        result = yield self._exchange(refund.mchid, refund.api, endpoint, operation, request, _describe_refund)
        if result.value is None:
            code = normalise_code(result.refused.code) if result.refused else None
            # "No such refund" while we hold it as processing means WeChat never took it: resubmit later.
            outcome = Outcome.UNKNOWN
            return RefundAnswer(outcome, result.record, error_code=code)
        if refund.api == ApiVersion.V3:
            return _v3_refund_answer(result.value, result.record, None)
        for record in result.value.refunds:
            if record.out_refund_no == refund.out_refund_no:
                status = _refund_status(record.refund_status)
                return RefundAnswer(
                    _REFUND_OUTCOME.get(status or "", Outcome.UNKNOWN), result.record,
                    refund_id=record.refund_id, status=status, refund_fen=record.refund_fee_fen,
                    funds_source=record.refund_account,
                )  # fmt: skip
        return RefundAnswer(Outcome.UNKNOWN, result.record)

    def apply_abnormal_refund(self, refund: Refund, application: AbnormalRefundApplication) -> Calls[RefundAnswer]:
        """Send an ABNORMAL v3 refund again, to the payer's card or the merchant's account (WeChat's
        apply-abnormal-refund). The card holder's account and name are encrypted with the WeChat Pay key
        this client trusts (public key, else the newest platform certificate) and never logged."""
        client = self.client(refund.mchid)
        if client.verifier.preferred_serial() is None and client.download_certificates:
            # A certificate-mode client that has not met WeChat yet: any verified answer fetches them.
            query = partial(sdk_v3.QueryRefund, out_refund_no=refund.out_refund_no)
            endpoint = "v3/refund/domestic/refunds/query"
            yield self._exchange(refund.mchid, refund.api, endpoint, query, {}, _describe_refund)
        serial = client.verifier.preferred_serial()
        operation = partial(sdk_v3.ApplyAbnormalRefund,
            refund_id=refund.refund_id or "", out_refund_no=refund.out_refund_no,
            type=application.type,  # type: ignore[arg-type]
            bank_type=application.bank_type, bank_account=application.bank_account,
            real_name=application.real_name, encryption_serial=serial,
            encryption_key=client.verifier.public_key(serial) if serial else None,
        )  # fmt: skip
        # Only what names the application goes to the call log: never the card number or the name.
        request = {"out_refund_no": refund.out_refund_no, "type": application.type, "bank_type": application.bank_type}
        result = yield self._exchange(refund.mchid, refund.api, "v3/refund/domestic/refunds/apply-abnormal-refund",
                                      operation, request, _describe_refund)  # fmt: skip
        if result.value is None:
            code, message = _error_fields(result)
            return RefundAnswer(_failure_outcome(result), result.record, error_code=code, error_message=message)
        return _v3_refund_answer(result.value, result.record, None)

    # -- bills --------------------------------------------------------------------------------------

    def trade_bill(self, mchid: str, api: ApiVersion, day: dt.date) -> Calls[list[BillEntry]]:
        """WeChat's trade bill of ``day``: one entry per payment and refund line (none if no bill exists)."""
        client = self.client(mchid)
        request = {"bill_date": day.isoformat()}
        if ApiVersion(api) == ApiVersion.V2:
            operation: Any = partial(sdk_v2.DownloadBill, appid=self._attempt_appid(client), bill_date=day)
            result = yield self._exchange(mchid, api, "pay/downloadbill", operation, request, _describe_bill)
            if result.value is not None:
                return [_v2_bill_entry(row) for row in result.value.rows]
        else:
            result = yield self._exchange(
                mchid, api, "v3/bill/tradebill", partial(sdk_v3.TradeBill, bill_date=day), request, _describe_bill
            )
            if result.value is not None:
                download = partial(sdk_v3.DownloadBill, location=result.value)
                result = yield self._exchange(mchid, api, "v3/billdownload", download, request, _describe_bill)
                if result.value is not None:
                    return [_v3_bill_entry(row) for row in result.value.rows]
        code = normalise_code(result.refused.code) if result.refused else None
        if code in ("NO_BILL_EXIST", "NO_STATEMENT_EXIST"):
            return []
        raise UpstreamError("bill_unavailable", "WeChat's trade bill is not available yet; retry after 10:00",
                            wechat_code=code)  # fmt: skip

    # -- login ---------------------------------------------------------------------------------------

    def code2session(self, mchid: str, appid: str, code: str) -> Calls[LoginAnswer]:
        """Exchange a mini-program login code; raises ``login_failed`` when WeChat refuses it."""
        result = yield self._exchange(
            mchid, "login", "sns/jscode2session", partial(Code2Session, appid=appid, code=code), {"appid": appid},
            lambda s: {"openid": s.openid},
        )
        if result.value is None:
            if result.refused is not None:
                raise UpstreamError("login_failed", "WeChat refused the login code", wechat_code=result.refused.code)
            raise UpstreamError("login_unavailable", "WeChat did not answer the login; retry")
        session = result.value
        return LoginAnswer(openid=session.openid, session_key=session.session_key, call=result.record,
                           unionid=session.unionid)  # fmt: skip

    def oauth_login(self, mchid: str, appid: str, code: str) -> Calls[LoginAnswer]:
        """Exchange an official account's or app's OAuth code; raises ``login_failed`` when WeChat refuses it."""
        result = yield self._exchange(
            mchid, "login", "sns/oauth2/access_token", partial(OAuthAccessToken, appid=appid, code=code),
            {"appid": appid}, lambda token: {"openid": token.openid, "scope": token.scope},
        )
        if result.value is None:
            if result.refused is not None:
                raise UpstreamError("login_failed", "WeChat refused the login code", wechat_code=result.refused.code)
            raise UpstreamError("login_unavailable", "WeChat did not answer the login; retry")
        token = result.value
        return LoginAnswer(openid=token.openid, call=result.record, unionid=token.unionid)

    def credential_expiries(self, mchid: str) -> list[CredentialExpiry]:
        """The merchant API certificate's expiry (read from its file now, so a renewed file counts at once)
        and each platform certificate the client trusts."""
        client = self.client(mchid)
        found = []
        certificate = client.credentials.client_certificate
        if certificate is not None:
            merchant = load_certificate(certificate.cert_path.read_bytes())
            found.append(CredentialExpiry("merchant_certificate", certificate_serial(merchant),
                                          merchant.not_valid_after_utc.timestamp()))  # fmt: skip
        for serial, not_after in sorted(client.verifier.certificate_validity().items()):
            found.append(CredentialExpiry("platform_certificate", serial, not_after))
        return found


# ABNORMAL (v2: CHANGE) is not a failure: WeChat holds the money until the merchant redirects it. It is
# not final either, so it reads as PENDING with ``status`` "ABNORMAL"; the use case holds the refund.
_REFUND_OUTCOME = {
    "SUCCESS": Outcome.SUCCEEDED,
    "PROCESSING": Outcome.PENDING,
    "CLOSED": Outcome.FAILED,
    "ABNORMAL": Outcome.PENDING,
}
_REFUND_STATUS = {"REFUNDCLOSE": "CLOSED", "CHANGE": "ABNORMAL"}  # v2 spellings, in v3's words


def _refund_status(status: str | None) -> str | None:
    return _REFUND_STATUS.get(status, status) if status is not None else None


def _v3_refund_answer(value: Any, record: Any, funds_source: str | None) -> RefundAnswer:
    return RefundAnswer(
        _REFUND_OUTCOME.get(value.status, Outcome.UNKNOWN), record, refund_id=value.refund_id, status=value.status,
        refund_fen=value.amount.refund_fen, funds_source=funds_source,
    )  # fmt: skip


def _failure_outcome(result: CallResult) -> Outcome:
    """A refusal WeChat says to retry with the same parameters is as ambiguous as a timeout."""
    if result.refused is not None and not result.refused.retryable:
        return Outcome.FAILED
    return Outcome.UNKNOWN


def _error_fields(result: CallResult) -> tuple[str | None, str | None]:
    """``(error_code, error_message)`` of a call that did not succeed."""
    error: WeChatPayError | None = result.refused or result.unknown
    code = normalise_code(result.refused.code) if result.refused is not None else None
    return code, error.message[:250] if error is not None else None


def _payment_status(value: Any, record: Any) -> PaymentStatus:
    if isinstance(value, sdk_v3.Transaction):
        amount_fen, currency = value.amount.total_fen, value.amount.currency
        paid_at, appid, mchid = _ts(value.success_time), value.appid, value.mchid
    else:
        amount_fen, currency = value.total_fee_fen, value.fee_type or "CNY"
        paid_at, appid, mchid = _ts(value.time_end), value.raw.get("appid"), value.raw.get("mch_id")
    state = value.trade_state
    if state in _PAID:
        outcome = Outcome.SUCCEEDED
    elif state in _OPEN:
        outcome = Outcome.PENDING
    else:
        outcome = Outcome.FAILED
    return PaymentStatus(
        outcome, record, trade_state=state, transaction_id=value.transaction_id,
        amount_fen=amount_fen if outcome == Outcome.SUCCEEDED else None, currency=currency, appid=appid,
        mchid=mchid, paid_at=paid_at,
    )  # fmt: skip


def _blank(value: str | None) -> str | None:
    """Bills print "0" in the refund columns of payment lines."""
    return None if value in (None, "", "0") else value


def _v2_bill_entry(row: Any) -> BillEntry:
    return BillEntry(
        out_trade_no=row.out_trade_no, transaction_id=row.transaction_id, trade_state=row.trade_state or "",
        amount_fen=row.total_fee_fen if row.total_fee_fen is not None else row.settlement_total_fee_fen,
        out_refund_no=_blank(row.out_refund_no), refund_fen=row.refund_fee_fen, refund_status=row.refund_status,
    )  # fmt: skip


def _v3_bill_entry(row: Any) -> BillEntry:
    amounts = row.amounts_fen
    return BillEntry(
        out_trade_no=row.get("商户订单号") or "", transaction_id=row.get("微信订单号") or "",
        trade_state=row.get("交易状态") or "", amount_fen=amounts.get("订单金额", amounts.get("应结订单金额")),
        out_refund_no=_blank(row.get("商户退款单号")),
        refund_fen=amounts.get("退款金额"), refund_status=row.get("退款状态") or None,
    )  # fmt: skip


def _describe_bill(value: Any) -> dict[str, Any]:
    rows = getattr(value, "rows", None)
    return {"rows": len(rows)} if rows is not None else {"download_url": "(received)"}


def _describe_prepay(value: Any) -> dict[str, Any]:
    return {"prepay_id": getattr(value, "prepay_id", None), "code_url": getattr(value, "code_url", None)}


def _describe_order(value: Any) -> dict[str, Any]:
    return {"trade_state": value.trade_state, "transaction_id": value.transaction_id}


def _describe_refund(value: Any) -> dict[str, Any]:
    return {"refund_id": getattr(value, "refund_id", None), "status": getattr(value, "status", None)}
