"""weipay's WeChat Pay SDK: API v2 and v3 for direct merchants, sync and async.

::

    from weipay.sdk import Client, MerchantCredentials, v3

    credentials = MerchantCredentials.from_bundle(Path("bundle/merchant"))
    with Client(credentials) as client:
        prepay = client.call(v3.CreateOrder(...))

Operations (``v2.*``, ``v3.*``, :class:`Code2Session`, :class:`OAuthAccessToken`, ``shipping.*``) are pure
values; :class:`Client` and :class:`AsyncClient` sign, send, verify and retry them. Errors form one tree rooted at
:class:`WeChatPayError` (see :mod:`weipay.sdk.errors`). The SDK never reads the environment and never
logs a secret; it logs one line per HTTP exchange on the ``weipay.sdk`` logger. Mini-program server APIs
(``shipping.*``) need the app's access token: :func:`call_with_access_token` fetches it with
:class:`StableToken`, keeps it in a :class:`TokenCache` and refreshes it before it expires.
"""

from __future__ import annotations

from . import shipping, v2, v3
from .access_token import AccessToken, StableToken
from .async_client import AsyncClient
from .client import Client
from .clock import Clock, NonceSource, new_nonce, system_clock
from .credentials import ClientCertificate, MerchantCredentials
from .errors import (
    AccessTokenRejected,
    ConfigurationError,
    OutcomeUnknown,
    PaymentPending,
    ProtocolError,
    SignatureError,
    SignTestProbe,
    TransportError,
    UnverifiableResponse,
    WeChatPayError,
    WeChatRefused,
)
from .miniprogram import Code2Session, Session
from .oauth import OAuthAccessToken, OAuthToken, authorize_url
from .operation import Api, Context, HttpRequest, HttpResponse, Operation
from .retry import RetryPolicy
from .token_cache import MemoryTokenCache, TokenCache
from .token_calls import TokenOperation, acall_with_access_token, call_with_access_token, with_access_token
from .v3.verifier import UnknownSerial, Verifier

__all__ = [
    "AccessToken",
    "AccessTokenRejected",
    "Api",
    "AsyncClient",
    "Client",
    "ClientCertificate",
    "Clock",
    "Code2Session",
    "ConfigurationError",
    "Context",
    "HttpRequest",
    "HttpResponse",
    "MemoryTokenCache",
    "MerchantCredentials",
    "NonceSource",
    "OAuthAccessToken",
    "OAuthToken",
    "Operation",
    "OutcomeUnknown",
    "PaymentPending",
    "ProtocolError",
    "RetryPolicy",
    "Session",
    "SignTestProbe",
    "SignatureError",
    "StableToken",
    "TokenCache",
    "TokenOperation",
    "TransportError",
    "UnknownSerial",
    "UnverifiableResponse",
    "Verifier",
    "WeChatPayError",
    "WeChatRefused",
    "acall_with_access_token",
    "authorize_url",
    "call_with_access_token",
    "new_nonce",
    "shipping",
    "system_clock",
    "v2",
    "v3",
    "with_access_token",
]
