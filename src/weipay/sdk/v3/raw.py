"""One-off API v3 calls weipay does not model: :class:`RawRequest` in, :class:`RawResponse` out.

A raw request is signed, sent, retried and its answer verified exactly like a modelled operation: it
is one, run by ``client.call`` (``client.v3_request`` is a shorthand). What it leaves to the caller is
the shape of the body and of the answer. For an operation you call often, define your own typed one
instead (``docs/sdk.md``, "Operations weipay does not model").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ..errors import ConfigurationError, ProtocolError
from ..operation import Api, Context, HttpRequest, HttpResponse
from ._json import dump_json
from ._request import ACCEPT_JSON, JSON_HEADERS
from .responses import refusal

__all__ = ["RawRequest", "RawResponse"]

# What a path may hold so that the bytes signed are the bytes sent: httpx would percent-encode anything else
# (spaces, non-ASCII) after we signed, and WeChat would answer SIGN_ERROR.
_PATH = re.compile(r"/v3/[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True, slots=True)
class RawResponse:
    """A verified 2xx answer: its status, headers (lower-case names) and body parsed as JSON (``None`` if empty)."""

    status: int
    headers: Mapping[str, str]
    data: Any

    @property
    def request_id(self) -> str | None:
        """WeChat's ``Request-ID`` header, if any."""
        return self.headers.get("request-id")


@dataclass(frozen=True, slots=True)
class RawRequest:
    """Operation: any API v3 call, as ``method`` ``path`` ``?query`` with an optional JSON object ``body``.

    ``path`` starts with ``/v3/`` and is signed as given: percent-encode ids yourself
    (``urllib.parse.quote(value, safe="")``). ``query`` is encoded for you. ``body`` is serialised as
    weipay serialises every v3 body (compact UTF-8, ``None`` members left out). ``idempotent`` (default:
    true for ``GET``) lets a transport failure be retried with the identical request; say so only when
    WeChat documents that repeating the call is safe. A non-2xx answer raises
    :class:`~weipay.sdk.errors.WeChatRefused` with WeChat's ``code``, ``message`` and ``detail``.
    """

    method: str
    path: str
    query: Mapping[str, str | int] | None = None
    body: Mapping[str, Any] | None = None
    idempotent: bool | None = None

    def build(self, ctx: Context) -> HttpRequest:
        """The request, checked so that what is signed is what goes on the wire."""
        method = self.method.upper()
        if method not in _METHODS:
            raise ConfigurationError(f"method must be one of {', '.join(_METHODS)}, got {self.method!r}")
        if _PATH.fullmatch(self.path) is None:
            raise ConfigurationError(
                "path must start with /v3/ and hold only URL-safe ASCII (no query, no spaces): "
                "percent-encode ids with urllib.parse.quote(value, safe='') and pass the query as query="
            )
        if method == "GET" and self.body is not None:
            raise ConfigurationError("a GET request carries no body; pass its parameters as query=")
        path = self.path + ("?" + urlencode(dict(self.query)) if self.query else "")
        return HttpRequest(
            api=Api.V3,
            method=method,
            path=path,
            body=b"" if self.body is None else dump_json(self.body),
            headers=ACCEPT_JSON if self.body is None else JSON_HEADERS,
            idempotent=method == "GET" if self.idempotent is None else self.idempotent,
        )

    def parse(self, response: HttpResponse, ctx: Context) -> RawResponse:
        """The answer; only a 2xx reaches here verified, anything else is WeChat's refusal."""
        if not 200 <= response.status < 300:
            raise refusal(response)
        data: Any = None
        if response.body:
            try:
                data = json.loads(response.body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                raise ProtocolError(
                    f"{self.method.upper()} {self.path}: the answer is not UTF-8 JSON", request_id=response.request_id
                ) from None
        return RawResponse(response.status, response.headers, data)

