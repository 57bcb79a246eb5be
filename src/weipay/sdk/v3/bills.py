"""Bills of API v3: apply for a trade or fund-flow bill, then download, check and parse it.

The file format is v2 ``downloadbill``'s: one parser, :mod:`weipay.sdk._bill`, serves both APIs and its names
are re-exported here (``BillFile``, ``BillRow``, ``parse_bill``...). Every column is kept by its header name;
money columns are also converted to integer fen exactly.

The download answer is not signed by WeChat; its integrity comes from ``hash_value``, which was in the
signed apply answer, checked over the *uncompressed* bytes.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode, urlsplit

from .._bill import MAX_BILL_BYTES, BillFile, BillRow, inflate, is_money_column, parse_bill, yuan_to_fen
from ..errors import ConfigurationError, ProtocolError
from ..operation import Api, Context, HttpRequest, HttpResponse
from ._request import ACCEPT_JSON, read_model
from ._validate import check_choice
from .models import BillLocation
from .responses import expect_json, expect_status

__all__ = [
    "MAX_BILL_BYTES",
    "BillFile",
    "BillRow",
    "DownloadBill",
    "FundFlowBill",
    "TradeBill",
    "check_digest",
    "is_money_column",
    "parse_bill",
    "yuan_to_fen",
]

BILL_TYPES = ("ALL", "SUCCESS", "REFUND", "RECHARGE_REFUND", "ALL_SPECIAL", "SUC_SPECIAL", "REF_SPECIAL")
ACCOUNT_TYPES = ("BASIC", "OPERATION", "FEES")
_HASHES = {"SHA1": "sha1", "SHA256": "sha256"}


def _bill_request(path: str, params: dict[str, str]) -> HttpRequest:
    return HttpRequest(
        api=Api.V3, method="GET", path=f"{path}?{urlencode(params)}", headers=ACCEPT_JSON, idempotent=True
    )


def _check_date(bill_date: date) -> str:
    # datetime is a date subclass whose isoformat() carries a time WeChat would reject.
    if not isinstance(bill_date, date) or isinstance(bill_date, datetime):
        raise ConfigurationError("bill_date must be a datetime.date")
    return bill_date.isoformat()


@dataclass(frozen=True, slots=True)
class TradeBill:
    """``GET /v3/bill/tradebill?bill_date=…&bill_type=…[&tar_type=GZIP]`` → :class:`BillLocation`."""

    bill_date: date
    bill_type: str = "ALL"
    gzip: bool = False

    def build(self, ctx: Context) -> HttpRequest:
        """The apply request."""
        params = {
            "bill_date": _check_date(self.bill_date),
            "bill_type": check_choice("bill_type", self.bill_type, BILL_TYPES),
        }
        if self.gzip:
            params["tar_type"] = "GZIP"
        return _bill_request("/v3/bill/tradebill", params)

    def parse(self, response: HttpResponse, ctx: Context) -> BillLocation:
        """Where to download the bill."""
        return read_model(BillLocation.from_json, expect_json(response, "bill answer"), response)


@dataclass(frozen=True, slots=True)
class FundFlowBill:
    """``GET /v3/bill/fundflowbill?bill_date=…&account_type=…[&tar_type=GZIP]`` → :class:`BillLocation`."""

    bill_date: date
    account_type: str = "BASIC"
    gzip: bool = False

    def build(self, ctx: Context) -> HttpRequest:
        """The apply request."""
        params = {
            "bill_date": _check_date(self.bill_date),
            "account_type": check_choice("account_type", self.account_type, ACCOUNT_TYPES),
        }
        if self.gzip:
            params["tar_type"] = "GZIP"
        return _bill_request("/v3/bill/fundflowbill", params)

    def parse(self, response: HttpResponse, ctx: Context) -> BillLocation:
        """Where to download the bill."""
        return read_model(BillLocation.from_json, expect_json(response, "bill answer"), response)


def check_digest(location: BillLocation, data: bytes) -> None:
    """Compare ``data``'s digest with the signed ``hash_value``, in constant time."""
    algorithm = _HASHES.get(location.hash_type.upper())
    if algorithm is None:
        raise ProtocolError(f"unsupported bill hash_type {location.hash_type[:16]!r}")
    actual = hashlib.new(algorithm, data).hexdigest()
    if not hmac.compare_digest(actual.encode(), location.hash_value.strip().lower().encode()):
        raise ProtocolError("bill digest does not match hash_value: the file is damaged or not ours")


@dataclass(frozen=True, slots=True)
class DownloadBill:
    """Fetch ``location.download_url`` (signed request, unsigned answer) and parse the checked bill."""

    location: BillLocation
    gzip: bool = False

    def build(self, ctx: Context) -> HttpRequest:
        """A ``GET`` of the absolute download URL; its raw path and query are what gets signed."""
        parts = urlsplit(self.location.download_url)
        if parts.scheme not in ("https", "http") or not parts.netloc or not parts.path:
            raise ProtocolError("download_url is not an absolute http(s) URL")
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return HttpRequest(
            api=Api.V3,
            method="GET",
            path=path,
            idempotent=True,
            verify_response=False,
            absolute_url=self.location.download_url,
        )

    def parse(self, response: HttpResponse, ctx: Context) -> BillFile:
        """Inflate if gzip, check the digest of the uncompressed bytes, then parse."""
        expect_status(response, 200)
        try:
            data = inflate(response.body) if self.gzip else response.body
            check_digest(self.location, data)
            return parse_bill(data)
        except ProtocolError as exc:
            raise ProtocolError(exc.message, request_id=response.request_id) from None
