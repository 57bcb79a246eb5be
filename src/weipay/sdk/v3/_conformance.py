"""Static proof (checked by ``mypy --strict``, never imported) that every v3 operation is an Operation."""

from __future__ import annotations

from cryptography import x509

from ..operation import Operation
from .bills import BillFile, DownloadBill, FundFlowBill, TradeBill
from .certificates import DownloadCertificates
from .models import BillLocation, PrepayResult, Refund, Transaction
from .orders import CloseOrder, CreateOrder, QueryOrder
from .refunds import CreateRefund, QueryRefund


def _create_order(op: CreateOrder) -> Operation[PrepayResult]:
    return op


def _query_order(op: QueryOrder) -> Operation[Transaction]:
    return op


def _close_order(op: CloseOrder) -> Operation[None]:
    return op


def _create_refund(op: CreateRefund) -> Operation[Refund]:
    return op


def _query_refund(op: QueryRefund) -> Operation[Refund]:
    return op


def _trade_bill(op: TradeBill) -> Operation[BillLocation]:
    return op


def _fund_flow_bill(op: FundFlowBill) -> Operation[BillLocation]:
    return op


def _download_bill(op: DownloadBill) -> Operation[BillFile]:
    return op


def _download_certificates(op: DownloadCertificates) -> Operation[list[x509.Certificate]]:
    return op
