"""The seam between protocol and transport: an operation builds one request and parses its answer.

Operations are pure (no I/O). A client signs (v3), sends, verifies (v3) and hands the raw answer to
``parse``. The same operation object therefore runs on :class:`~weipay.sdk.Client` and
:class:`~weipay.sdk.AsyncClient` alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, TypeVar

from .clock import Clock, NonceSource
from .credentials import MerchantCredentials

__all__ = ["Api", "Context", "HttpRequest", "HttpResponse", "Operation"]

T_co = TypeVar("T_co", covariant=True)


class Api(StrEnum):
    """Which protocol an operation speaks; decides signing and response verification."""

    V2 = "v2"
    V3 = "v3"
    LOGIN = "login"  # api.weixin.qq.com (mini-program login): neither signed nor verified


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request, before the client signs (v3) and sends it.

    ``path`` is the raw path plus query relative to the API host, exactly as it will be signed.
    ``idempotent`` says a transport failure may be retried with the identical request.
    ``mtls`` marks v2 ``/secapi/`` calls that need the merchant's client certificate.
    ``verify_response`` is False only for the few v3 answers WeChat does not sign (bill files).
    """

    api: Api
    method: str
    path: str
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    idempotent: bool = False
    mtls: bool = False
    verify_response: bool = True
    absolute_url: str | None = None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A raw answer: status, headers (lower-case names), body bytes, and WeChat's request id."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def request_id(self) -> str | None:
        """WeChat's ``Request-ID`` header, if any."""
        return self.headers.get("request-id")


@dataclass(frozen=True, slots=True)
class Context:
    """What an operation may use to build and parse: the merchant, the clock and the nonce source."""

    credentials: MerchantCredentials
    clock: Clock
    nonce: NonceSource


class Operation(Protocol[T_co]):
    """Anything a client can run: ``build`` one request, ``parse`` its answer into ``T``."""

    def build(self, ctx: Context) -> HttpRequest:
        """The request to send."""
        ...

    def parse(self, response: HttpResponse, ctx: Context) -> T_co:
        """The typed result; raises ``WeChatRefused`` / ``ProtocolError`` from ``weipay.sdk.errors``."""
        ...
