"""``weipay config check --online``: ask WeChat (or the simulator) whether each credential is the right one.

Every probe is a read that changes nothing at WeChat, chosen so that its answer names one credential:

* an unsigned ``GET /v3/certificates``: WeChat's ``Date`` (our clock's skew; WeChat refuses signatures more
  than 5 minutes off) and the ``Wechatpay-Serial`` it signs with (the WeChat Pay public key id);
* ``GET /v3/certificates`` signed, where the account has platform certificates: decrypting them proves the
  APIv3 key (a public-key account has none: the key is then proven by the first notification);
* a signed v3 query of an order that does not exist: ``ORDER_NOT_EXIST`` means WeChat accepted our signature
  (merchant private key and serial), ``SIGN_ERROR`` that it did not (its message says which); a verified answer
  proves the WeChat Pay public key or the platform certificates;
* a signed v2 ``orderquery`` of the same order: ``ORDERNOTEXIST`` proves the APIv2 key, ``签名错误`` refutes it.

No secret is printed: the lines name the credential to fix, never its value.
"""

from __future__ import annotations

import email.utils
import secrets
from collections.abc import Callable, Iterator

import httpx

from weipay.sdk import Client
from weipay.sdk import v2 as sdk_v2
from weipay.sdk import v3 as sdk_v3
from weipay.sdk.credentials import MerchantCredentials
from weipay.sdk.errors import (
    ConfigurationError,
    SignatureError,
    TransportError,
    WeChatPayError,
    WeChatRefused,
)

from ._config_checks import FAIL, PASS, SKIP, Result

__all__ = ["MAX_SKEW_S", "WARN_SKEW_S", "probe_merchant"]

MAX_SKEW_S = 300.0  # WeChat's window for request and response timestamps
WARN_SKEW_S = 30.0
_NOT_EXIST = frozenset({"ORDER_NOT_EXIST", "ORDERNOTEXIST"})


def probe_merchant(
    client: Client,
    credentials: MerchantCredentials,
    base_url: str,
    *,
    clock: Callable[[], float],
    transport: httpx.BaseTransport | None = None,
    verify_tls: bool | str = True,
) -> Iterator[Result]:
    """The online checks of one merchant, in an order where each relies only on what the earlier ones proved."""
    out_trade_no = "WEIPAYCHECK" + secrets.token_hex(8).upper()
    try:
        answer = _unsigned_probe(base_url, transport, verify_tls)
    except httpx.HTTPError as exc:
        yield Result(FAIL, f"WeChat unreachable at {base_url}: {type(exc).__name__} (check wechat.base_url, "
                           "the network, a proxy, wechat.ca_path)")  # fmt: skip
        return
    clock_result = _clock_result(answer, clock)
    yield clock_result
    if clock_result.mark == FAIL:
        yield Result(SKIP, "v3 probes not run: with this clock every v3 signature fails; fix the clock first")
    elif credentials.private_key is None or not credentials.merchant_serial_no:
        yield Result(SKIP, "v3 probes: no merchant private key and serial configured")
    else:
        yield from _v3_results(client, credentials, answer, out_trade_no)
    yield _api_v2_key_result(client, credentials, out_trade_no)


def _v3_results(
    client: Client, credentials: MerchantCredentials, answer: httpx.Response, out_trade_no: str
) -> Iterator[Result]:
    id_result = _public_key_id_result(answer, credentials)
    if id_result is not None:
        yield id_result
    read = _signed_read_result(client, credentials, out_trade_no)
    yield read
    if read.mark == FAIL:
        yield Result(SKIP, "APIv3 key and WeChat's signature: not checked until WeChat accepts our signature")
        return
    yield _api_v3_key_result(client, credentials)
    if id_result is None or id_result.mark != FAIL:
        yield _answer_signature_result(client, credentials, answer)


def _unsigned_probe(base_url: str, transport: httpx.BaseTransport | None, verify_tls: bool | str) -> httpx.Response:
    with httpx.Client(transport=transport, verify=verify_tls, timeout=10.0) as http:
        return http.get(base_url.rstrip("/") + "/v3/certificates", headers={"Accept": "application/json"})


def _clock_result(answer: httpx.Response, clock: Callable[[], float]) -> Result:
    stamp = answer.headers.get("date") or ""
    parsed = email.utils.parsedate_to_datetime(stamp) if stamp else None
    if parsed is None:
        return Result(SKIP, "clock: WeChat's answer carries no Date header to compare with")
    skew_s = clock() - parsed.timestamp()
    direction = "ahead of" if skew_s > 0 else "behind"
    if abs(skew_s) > MAX_SKEW_S:
        return Result(FAIL, f"clock: this machine is {abs(skew_s):.0f} s {direction} WeChat; WeChat refuses "
                            "signatures more than 300 s off: synchronise the clock (NTP / chrony)")  # fmt: skip
    if abs(skew_s) > WARN_SKEW_S:
        return Result(PASS, f"clock: {abs(skew_s):.0f} s {direction} WeChat (within 300 s, but synchronise it)")
    return Result(PASS, f"clock agrees with WeChat's (within {WARN_SKEW_S:.0f} s)")


def _public_key_id_result(answer: httpx.Response, credentials: MerchantCredentials) -> Result | None:
    signing = answer.headers.get("wechatpay-serial") or ""
    configured = credentials.wechatpay_public_key_id
    if configured is None or not signing.startswith("PUB_KEY_ID_"):
        return None  # certificate mode (or WeChat did not sign): the signature check below covers it
    if signing != configured:
        return Result(FAIL, f"wechatpay_public_key_id is wrong: WeChat signs with {signing}, configured {configured}"
                            " (copy the id shown next to the public key in the merchant platform)")  # fmt: skip
    return Result(PASS, f"WeChat signs with the configured public key id {configured}")


def _api_v3_key_result(client: Client, credentials: MerchantCredentials) -> Result:
    if not credentials.api_v3_key:
        return Result(SKIP, "APIv3 key not configured")
    try:
        certificates = client.call(sdk_v3.DownloadCertificates())
    except ConfigurationError:
        fix = "reset it in the merchant platform, API安全 → APIv3密钥, and configure the new one"
        return Result(FAIL, f"APIv3 key is wrong: the platform certificates do not decrypt with it ({fix})")
    except WeChatRefused as refused:
        if refused.code == "SIGN_ERROR":
            return _sign_error(refused, credentials.merchant_serial_no) or _refusal("certificate download", refused)
        if refused.code == "RESOURCE_NOT_EXISTS":
            return Result(SKIP, "APIv3 key: the account has no platform certificates (public key account); "
                                "it is proven when the first notification decrypts")  # fmt: skip
        return _refusal("APIv3 key (certificate download)", refused)
    except WeChatPayError as error:
        return Result(FAIL, f"APIv3 key: certificate download failed: {type(error).__name__}: {error.message}")
    client.verifier.add_certificates(certificates)  # what the answer's signature is checked with next
    return Result(PASS, f"APIv3 key decrypts the {len(certificates)} platform certificate(s)")


def _signed_read_result(client: Client, credentials: MerchantCredentials, out_trade_no: str) -> Result:
    """WeChat's verdict on our signature. Its error answers are not verified by the SDK (only 2xx are): the
    unsigned probe's answer is checked separately by :func:`_answer_signature_result`."""
    serial = credentials.merchant_serial_no
    try:
        client.call(sdk_v3.QueryOrder(out_trade_no=out_trade_no))
    except WeChatRefused as refused:
        if refused.code in _NOT_EXIST:
            return Result(PASS, f"merchant private key and serial {serial} accepted by WeChat (signed v3 read)")
        return _sign_error(refused, serial) or _refusal("signed v3 read", refused)
    except TransportError as error:
        return Result(FAIL, f"signed v3 read: WeChat unreachable: {error.message}")
    except WeChatPayError as error:
        return Result(FAIL, f"signed v3 read failed: {type(error).__name__}: {error.message}")
    return Result(PASS, f"merchant private key and serial {serial} accepted by WeChat (signed v3 read)")


def _sign_error(refused: WeChatRefused, serial: str | None) -> Result | None:
    if refused.code != "SIGN_ERROR":
        return None
    if "序列号" in refused.message or "serial" in str(refused.detail or ""):
        fix = "use the serial of apiclient_cert.pem: `weipay config check --bundle` prints it"
        return Result(FAIL, f"merchant_serial_no {serial} is wrong: WeChat does not know it for this merchant ({fix})")
    return Result(FAIL, f"merchant private key is wrong: WeChat cannot verify our signature with the certificate "
                        f"of serial {serial} (use the apiclient_key.pem issued with it)")  # fmt: skip


def _answer_signature_result(client: Client, credentials: MerchantCredentials, answer: httpx.Response) -> Result:
    """Verify the probe's (signed) answer with what the client trusts: the public key, or the certificates."""
    try:
        client.verifier.verify_headers(answer.headers, answer.content)
    except SignatureError:
        fix = _verification_fix(credentials, answer.headers.get("wechatpay-serial") or "?")
        return Result(FAIL, f"WeChat's answers do not verify with the {_verification(credentials)}: {fix}")
    return Result(PASS, f"WeChat's answers verify with the {_verification(credentials)}")


def _verification(credentials: MerchantCredentials) -> str:
    if credentials.wechatpay_public_key is not None:
        return f"WeChat Pay public key ({credentials.wechatpay_public_key_id})"
    return "platform certificates"


def _verification_fix(credentials: MerchantCredentials, serial: str) -> str:
    if credentials.wechatpay_public_key is not None:
        return "the WeChat Pay public key file is wrong (download pub_key.pem again from the merchant platform)"
    return (f"WeChat signs with certificate {serial}, which the downloaded platform certificates do not verify "
            "(if the account moved to a WeChat Pay public key, configure it)")


def _api_v2_key_result(client: Client, credentials: MerchantCredentials, out_trade_no: str) -> Result:
    appid = next(iter(credentials.appids.values()), None)
    if not credentials.api_v2_key:
        return Result(SKIP, "APIv2 key not configured")
    if appid is None:
        return Result(SKIP, "APIv2 key: no appid configured to query with")
    try:
        client.call(sdk_v2.OrderQuery(appid=appid, out_trade_no=out_trade_no))
    except WeChatRefused as refused:
        if refused.code in _NOT_EXIST:
            return Result(PASS, "APIv2 key accepted by WeChat (signed v2 orderquery)")
        if refused.code == "SIGNERROR":
            return Result(FAIL, "APIv2 key is wrong: WeChat answers 签名错误 to a signed v2 orderquery "
                                "(set it again in the merchant platform, API安全 → APIv2密钥)")  # fmt: skip
        return _refusal("signed v2 orderquery", refused)
    except WeChatPayError as error:
        return Result(FAIL, f"signed v2 orderquery failed: {type(error).__name__}: {error.message}")
    return Result(PASS, "APIv2 key accepted by WeChat (signed v2 orderquery)")


def _refusal(what: str, refused: WeChatRefused) -> Result:
    hint = " (the mchid is not known to WeChat)" if refused.code in ("MCH_NOT_EXISTS", "MCHID_NOT_EXIST") else ""
    return Result(FAIL, f"{what}: WeChat answered {refused.code}: {refused.message[:120]}{hint}")
