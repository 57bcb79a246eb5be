"""Certificate mode: platform certificates downloaded on need, single-flight, rate-limited, rotated."""

from __future__ import annotations

import httpx
import pytest
from client_fakes import V3Get

from weipay.sdk.errors import UnverifiableResponse
from weipay.sdk.v3.verifier import Verifier

QUERY_PATH = "/v3/pay/transactions/out-trade-no/T1"


def test_first_call_downloads_certificates_and_names_the_serial(cert_wechat, cert_credentials, make_client):
    cert_wechat.route("GET", QUERY_PATH)(lambda request: cert_wechat.signed(200, {"trade_state": "SUCCESS"}))
    client = make_client(cert_credentials, cert_wechat)

    assert client.call(V3Get()) == {"trade_state": "SUCCESS"}
    assert client.call(V3Get()) == {"trade_state": "SUCCESS"}

    assert cert_wechat.certificate_downloads == 1
    download, query = cert_wechat.received[0], cert_wechat.received[1]
    assert download.url.path == "/v3/certificates" and "Wechatpay-Serial" not in download.headers
    assert query.headers["Wechatpay-Serial"] == cert_wechat.signer_serial
    assert cert_wechat.auth_failures == 0


def test_rotation_accepts_old_and_new(new_key_pair, cert_wechat, cert_credentials, make_client, clock, wechatpay_keys):
    new_pair = new_key_pair("Tenpay platform 2")
    signer = {"key": wechatpay_keys.private_key, "serial": wechatpay_keys.serial}
    cert_wechat.route("GET", QUERY_PATH)(lambda request: cert_wechat.signed(200, {"n": 1}, **signer))
    client = make_client(cert_credentials, cert_wechat)
    assert client.call(V3Get()) == {"n": 1}

    # WeChat publishes a second certificate and starts signing with it.
    cert_wechat.platform_certificates.append(new_pair)
    signer.update(key=new_pair.private_key, serial=new_pair.serial)
    clock.advance(301)
    assert client.call(V3Get()) == {"n": 1}
    assert cert_wechat.certificate_downloads == 2

    signer.update(key=wechatpay_keys.private_key, serial=wechatpay_keys.serial)
    assert client.call(V3Get()) == {"n": 1}
    assert set(client.verifier.serials()) == {wechatpay_keys.serial, new_pair.serial}
    assert cert_wechat.certificate_downloads == 2


def test_a_storm_of_unknown_serials_costs_at_most_one_download(cert_wechat, cert_credentials, make_client):
    serials = iter(f"{n:040X}" for n in range(1, 10_000))
    cert_wechat.route("GET", QUERY_PATH)(lambda request: cert_wechat.signed(200, {"n": 1}, serial=next(serials)))
    client = make_client(cert_credentials, cert_wechat)

    failures = 0
    for _ in range(1000):
        with pytest.raises(UnverifiableResponse):
            client.call(V3Get())
        failures += 1

    assert failures == 1000
    assert cert_wechat.certificate_downloads == 1


def test_unknown_serial_within_five_minutes_of_a_download_does_not_download(
    new_key_pair, cert_wechat, cert_credentials, make_client, clock
):
    unknown = new_key_pair("not published yet")
    cert_wechat.route("GET", QUERY_PATH)(
        lambda request: cert_wechat.signed(200, {}, key=unknown.private_key, serial=unknown.serial)
    )
    client = make_client(cert_credentials, cert_wechat)
    with pytest.raises(UnverifiableResponse):
        client.call(V3Get())
    clock.advance(299)
    with pytest.raises(UnverifiableResponse):
        client.call(V3Get())
    assert cert_wechat.certificate_downloads == 1

    clock.advance(2)
    cert_wechat.platform_certificates.append(unknown)
    assert client.call(V3Get()) == {}
    assert cert_wechat.certificate_downloads == 2


def test_forged_download_is_not_trusted(cert_wechat, cert_credentials, make_client, merchant_keys):
    cert_wechat.route("GET", "/v3/certificates")(
        lambda request: cert_wechat.signed(200, cert_wechat.certificates_body(), key=merchant_keys.private_key)
    )
    cert_wechat.route("GET", QUERY_PATH)(lambda request: cert_wechat.signed(200, {}))
    client = make_client(cert_credentials, cert_wechat)

    with pytest.raises(UnverifiableResponse):
        client.call(V3Get())
    assert client.verifier.serials() == []


def test_download_encrypted_with_another_key_is_not_trusted(cert_wechat, cert_credentials, make_client):
    cert_wechat.api_v3_key = "X" * 32
    cert_wechat.route("GET", QUERY_PATH)(lambda request: cert_wechat.signed(200, {}))
    client = make_client(cert_credentials, cert_wechat)

    with pytest.raises(UnverifiableResponse, match="check api_v3_key"):
        client.call(V3Get())
    assert client.verifier.serials() == []


def test_download_refused_leaves_the_call_unverifiable(cert_wechat, cert_credentials, make_client):
    cert_wechat.route("GET", "/v3/certificates")(
        lambda request: httpx.Response(404, json={"code": "RESOURCE_NOT_EXISTS", "message": "无可用的平台证书"})
    )
    cert_wechat.route("GET", QUERY_PATH)(lambda request: cert_wechat.signed(200, {}))
    with pytest.raises(UnverifiableResponse):
        make_client(cert_credentials, cert_wechat).call(V3Get())


def test_proactive_refresh_before_the_newest_certificate_expires(
    new_key_pair, cert_wechat, cert_credentials, make_client, clock
):
    short_lived = new_key_pair("expiring platform", days_valid=2)
    cert_wechat.platform_certificates = [short_lived]
    cert_wechat.signer_key, cert_wechat.signer_serial = short_lived.private_key, short_lived.serial
    cert_wechat.route("GET", QUERY_PATH)(lambda request: cert_wechat.signed(200, {}))
    client = make_client(cert_credentials, cert_wechat)
    client.call(V3Get())
    assert cert_wechat.certificate_downloads == 1

    clock.advance(3600)  # newest certificate still has ~23 h: no download
    client.call(V3Get())
    assert cert_wechat.certificate_downloads == 1

    clock.advance(12 * 3600)  # now within 12 h of expiry: refresh before calling
    client.call(V3Get())
    assert cert_wechat.certificate_downloads == 2


def test_public_key_mode_never_downloads(new_key_pair, wechat, credentials, make_client):
    unknown = new_key_pair("other")
    wechat.route("GET", QUERY_PATH)(lambda request: wechat.signed(200, {}, serial=unknown.serial))
    with pytest.raises(UnverifiableResponse):
        make_client(credentials, wechat).call(V3Get())
    assert wechat.certificate_downloads == 0
    assert [request.url.path for request in wechat.received] == [QUERY_PATH]


def test_injected_verifier_is_used_as_is(cert_wechat, cert_credentials, make_client, clock, wechatpay_keys):
    verifier = Verifier(clock=clock)
    verifier.add_certificate(wechatpay_keys.certificate)
    cert_wechat.route("GET", QUERY_PATH)(lambda request: cert_wechat.signed(200, {"n": 2}))

    assert make_client(cert_credentials, cert_wechat, verifier=verifier).call(V3Get()) == {"n": 2}
    assert cert_wechat.certificate_downloads == 0
