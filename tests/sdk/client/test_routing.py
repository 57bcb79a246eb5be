"""Which host and which connection pool each request uses."""

from __future__ import annotations

import dataclasses
import ssl

import httpx
import pytest
from client_fakes import V2Refund, V3Get

from weipay.sdk.client import Client
from weipay.sdk.credentials import ClientCertificate
from weipay.sdk.errors import ConfigurationError


@pytest.fixture
def mtls_credentials(credentials, tmp_path):
    cert, key = tmp_path / "apiclient_cert.pem", tmp_path / "apiclient_key.pem"
    cert.write_text("placeholder: the injected transport owns TLS")
    key.write_text("placeholder")
    return dataclasses.replace(credentials, client_certificate=ClientCertificate(cert, key))


def test_v2_secapi_goes_to_the_secure_host_through_the_secure_transport(mtls_credentials):
    plain, secure = [], []

    def plain_handler(request):
        plain.append(request)
        return httpx.Response(200, content=b"<xml>plain</xml>")

    def secure_handler(request):
        secure.append(request)
        return httpx.Response(200, content=b"<xml>secure</xml>")

    with Client(
        mtls_credentials,
        secure_base_url="https://api-secure.example:8901",
        transport=httpx.MockTransport(plain_handler),
        secure_transport=httpx.MockTransport(secure_handler),
    ) as client:
        assert client.call(V2Refund()) == b"<xml>secure</xml>"

    assert plain == []
    (request,) = secure
    assert str(request.url) == "https://api-secure.example:8901/secapi/pay/refund"
    assert request.headers["Content-Type"].startswith("text/xml")
    assert "Authorization" not in request.headers  # v2 carries its own sign in the body
    assert request.content == V2Refund().body


def test_secure_host_defaults_to_base_url(mtls_credentials):
    seen = []
    handler = httpx.MockTransport(lambda request: seen.append(request) or httpx.Response(200, content=b"<xml/>"))
    with Client(mtls_credentials, base_url="http://127.0.0.1:8900", transport=handler) as client:
        client.call(V2Refund())
    assert str(seen[0].url) == "http://127.0.0.1:8900/secapi/pay/refund"


def test_mtls_without_client_certificate_sends_nothing(credentials):
    seen = []
    transport = httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200))
    with Client(credentials, transport=transport) as client, pytest.raises(ConfigurationError, match="certificate"):
        client.call(V2Refund())
    assert seen == []


def test_real_tls_context_loads_the_merchant_certificate(credentials, merchant_keys, tmp_path):
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(merchant_keys.certificate.public_bytes(Encoding.PEM))
    key.write_bytes(merchant_keys.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    with_cert = dataclasses.replace(credentials, client_certificate=ClientCertificate(cert, key))
    with Client(with_cert, verify_tls=str(cert)) as client:
        context = client._tls_context(with_client_cert=True, transport=None)
    assert isinstance(context, ssl.SSLContext) and context.verify_mode is ssl.CERT_REQUIRED

    broken = dataclasses.replace(credentials, client_certificate=ClientCertificate(key, cert))
    with Client(broken) as client, pytest.raises(ConfigurationError, match="client certificate"):
        client._tls_context(with_client_cert=True, transport=None)


def test_base_url_override_for_the_simulator(wechat, credentials):
    wechat.route("GET", "/v3/pay/transactions/out-trade-no/T1")(lambda request: wechat.signed(200, {}))
    with Client(
        credentials, base_url="http://127.0.0.1:8900/", transport=httpx.MockTransport(wechat), clock=wechat.clock
    ) as client:
        client.call(V3Get())
    assert str(wechat.received[0].url).startswith("http://127.0.0.1:8900/v3/pay/transactions/out-trade-no/T1?")
    assert wechat.auth_failures == 0
