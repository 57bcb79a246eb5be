"""The public door of ``weipay.sdk``: exactly these names, sorted, each documented and importable."""

from __future__ import annotations

import inspect
import types

import weipay.sdk

EXPECTED = [
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


def test_all_is_pinned_and_sorted():
    assert weipay.sdk.__all__ == EXPECTED
    assert sorted(weipay.sdk.__all__) == weipay.sdk.__all__


def test_every_export_exists_and_is_documented():
    for name in weipay.sdk.__all__:
        member = getattr(weipay.sdk, name)
        if name in ("Clock", "NonceSource"):  # type aliases: documented in weipay.sdk.clock
            continue
        assert inspect.getdoc(member), f"{name} has no docstring"


def test_subpackages_are_the_protocol_modules_and_have_their_own_door():
    for package in (weipay.sdk.v2, weipay.sdk.v3, weipay.sdk.shipping):
        assert isinstance(package, types.ModuleType)
        assert len(set(package.__all__)) == len(package.__all__)
        for name in package.__all__:
            assert hasattr(package, name), f"{package.__name__}.{name} is listed but missing"


def test_error_tree_is_one_tree():
    for name in weipay.sdk.__all__:
        member = getattr(weipay.sdk, name)
        if isinstance(member, type) and issubclass(member, Exception):
            assert issubclass(member, weipay.sdk.WeChatPayError), name
