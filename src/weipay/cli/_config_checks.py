"""The offline checks of one merchant's key material, shared by every form of ``weipay config check``.

``config_cmd`` (the command), ``_config_service`` (every merchant of the service's config) and
``_config_probe`` (the online probe) all report :class:`Result` lines; none of them imports another's command.
"""

from __future__ import annotations

import json
import ssl
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from weipay.sdk.crypto import certificate_serial, load_certificate, load_private_key, load_public_key, rsa_verify
from weipay.sdk.errors import WeChatPayError
from weipay.sdk.v2.signing import sign as v2_sign
from weipay.sdk.v2.signing import verify as v2_verify
from weipay.sdk.v3.signing import authorization, parse_authorization, request_message

__all__ = ["FAIL", "PASS", "SKIP", "Inputs", "Result", "describe_error", "from_bundle", "run_checks"]

PASS, FAIL, SKIP = "✓", "✗", "·"


@dataclass
class Inputs:
    """What the merchant handed us, before any of it is trusted."""

    mchid: str | None = None
    private_key: Path | None = None
    merchant_cert: Path | None = None
    serial_no: str | None = None
    api_v2_key: str | None = None
    api_v3_key: str | None = None
    wechatpay_public_key: Path | None = None
    wechatpay_public_key_id: str | None = None
    secret_files: list[Path] = field(default_factory=list)
    v2_only: bool = False  # a merchant configured with the APIv2 key alone: no v3 key material to check


@dataclass(frozen=True)
class Result:
    """One printed line."""

    mark: str
    text: str


def run_checks(inputs: Inputs) -> Iterator[Result]:
    """Every check, in order; a check that raises is reported as failed, never as a traceback."""
    state: dict[str, Any] = {}
    checks: list[Callable[[Inputs, dict[str, Any]], Result]] = [
        _check_mchid,
        _check_permissions,
        _check_private_key,
        _check_certificate,
        _check_v3_probe,
        _check_api_v2_key,
        _check_api_v3_key,
        _check_public_key,
        _check_client_tls,
    ]
    for run in checks:
        try:
            yield run(inputs, state)
        except (WeChatPayError, OSError, ValueError, ssl.SSLError) as exc:
            yield Result(FAIL, f"{run.__name__.removeprefix('_check_').replace('_', ' ')}: {describe_error(exc)}")


def _check_mchid(inputs: Inputs, state: dict[str, Any]) -> Result:
    if not inputs.mchid or not inputs.mchid.isdigit():
        return Result(FAIL, "mchid: missing or not digits (--mchid)")
    return Result(PASS, f"mchid {inputs.mchid}")


def _check_permissions(inputs: Inputs, state: dict[str, Any]) -> Result:
    exposed = []
    for path in inputs.secret_files:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            exposed.append(f"{path} (mode {stat.S_IMODE(mode):04o})")
    if exposed:
        return Result(FAIL, "readable by group/others, run chmod 600 on: " + ", ".join(exposed))
    if not inputs.secret_files:
        return Result(SKIP, "key file permissions: no key file given")
    return Result(PASS, "key files readable by their owner only")


def _check_private_key(inputs: Inputs, state: dict[str, Any]) -> Result:
    if inputs.v2_only:
        return Result(SKIP, "merchant private key not configured (APIv2 only: no v3 calls, no v2 refunds)")
    if inputs.private_key is None:
        return Result(FAIL, "merchant private key: missing (--private-key apiclient_key.pem)")
    key = load_private_key(inputs.private_key.read_bytes())
    if key.key_size < 2048:
        return Result(FAIL, f"merchant private key is RSA-{key.key_size}; WeChat requires RSA-2048")
    state["private_key"] = key
    return Result(PASS, f"merchant private key loads (RSA-{key.key_size})")


def _check_certificate(inputs: Inputs, state: dict[str, Any]) -> Result:
    if inputs.v2_only:
        return Result(SKIP, "merchant certificate not configured (APIv2 only)")
    if inputs.merchant_cert is None:
        if inputs.serial_no:
            state["serial_no"] = inputs.serial_no
            return Result(SKIP, "merchant certificate not given: cannot match it to the private key")
        return Result(FAIL, "merchant certificate: missing (--merchant-cert, or --serial-no)")
    certificate: x509.Certificate = load_certificate(inputs.merchant_cert.read_bytes())
    serial = certificate_serial(certificate)
    state["serial_no"] = inputs.serial_no or serial
    certificate_key = certificate.public_key()
    if not isinstance(certificate_key, RSAPublicKey):
        return Result(FAIL, "merchant certificate does not hold an RSA key")
    private_key = state.get("private_key")
    if private_key is not None and certificate_key.public_numbers() != private_key.public_key().public_numbers():
        return Result(FAIL, "merchant certificate does not belong to the private key")
    if inputs.serial_no and inputs.serial_no.upper() != serial:
        return Result(FAIL, f"merchant_serial_no {inputs.serial_no} differs from the certificate's {serial}")
    state["public_key"] = certificate_key
    return Result(PASS, f"private key matches the merchant certificate (serial {serial})")


def _check_v3_probe(inputs: Inputs, state: dict[str, Any]) -> Result:
    private_key, serial = state.get("private_key"), state.get("serial_no")
    if private_key is None or not serial or not inputs.mchid:
        return Result(SKIP, "v3 signing probe: needs mchid, private key and serial")
    body = b'{"probe":"weipay config check"}'
    header = authorization(
        mchid=inputs.mchid,
        serial_no=serial,
        private_key=private_key,
        method="POST",
        canonical_url="/v3/probe",
        body=body,
        timestamp="1700000000",
        nonce="weipayconfigcheckprobe",
    )
    params = parse_authorization(header)
    message = request_message("POST", "/v3/probe", params.timestamp, params.nonce_str, body)
    if not rsa_verify(state.get("public_key") or private_key.public_key(), message, params.signature):
        return Result(FAIL, "v3 signing probe: the signature does not verify")
    return Result(PASS, "v3 Authorization probe signs and verifies")


def _check_api_v2_key(inputs: Inputs, state: dict[str, Any]) -> Result:
    key = inputs.api_v2_key
    if not key:
        return Result(SKIP, "APIv2 key not configured (v2 calls and v2 notifications disabled)")
    if len(key) != 32 or not key.isascii() or not key.isalnum():
        return Result(FAIL, f"APIv2 key must be 32 letters or digits (got {len(key)} characters)")
    fields = {"appid": "wxd930ea5d5a258f4f", "mch_id": inputs.mchid or "0", "nonce_str": "probe", "body": "check"}
    signed = {**fields, "sign": v2_sign(fields, key)}
    if not v2_verify(signed, key):
        return Result(FAIL, "APIv2 signing probe does not verify")
    return Result(PASS, "APIv2 key is 32 characters; MD5 signing probe verifies")


def _check_api_v3_key(inputs: Inputs, state: dict[str, Any]) -> Result:
    key = inputs.api_v3_key
    if not key:
        return Result(SKIP, "APIv3 key not configured (v3 notifications and certificate download disabled)")
    if len(key.encode()) != 32:
        return Result(FAIL, f"APIv3 key must be 32 bytes (got {len(key.encode())})")
    return Result(PASS, "APIv3 key is 32 bytes")


def _check_public_key(inputs: Inputs, state: dict[str, Any]) -> Result:
    if inputs.wechatpay_public_key is None:
        return Result(SKIP, "no WeChat Pay public key: platform certificates will be downloaded at the first v3 call")
    load_public_key(inputs.wechatpay_public_key.read_bytes())
    key_id = inputs.wechatpay_public_key_id or ""
    if not key_id.startswith("PUB_KEY_ID_"):
        return Result(FAIL, "WeChat Pay public key id must look like PUB_KEY_ID_… (--wechatpay-public-key-id)")
    return Result(PASS, f"WeChat Pay public key loads ({key_id})")


def _check_client_tls(inputs: Inputs, state: dict[str, Any]) -> Result:
    if inputs.private_key is None or inputs.merchant_cert is None:
        return Result(SKIP, "client TLS certificate for v2 /secapi: needs --private-key and --merchant-cert")
    context = ssl.create_default_context()
    context.load_cert_chain(str(inputs.merchant_cert), str(inputs.private_key))
    return Result(PASS, "client TLS certificate loads (v2 refunds over mTLS)")


def from_bundle(directory: Path) -> Inputs:
    merchant = directory / "merchant" if (directory / "merchant" / "account.json").exists() else directory
    account_path = merchant / "account.json"
    try:
        account = json.loads(account_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{account_path} not found: is {directory} a merchant bundle?") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{account_path} is not valid JSON (line {exc.lineno})") from None
    public_key = account.get("verification", "public_key") == "public_key"
    return Inputs(
        mchid=str(account.get("mchid", "")),
        private_key=merchant / "apiclient_key.pem",
        merchant_cert=merchant / "apiclient_cert.pem",
        serial_no=account.get("merchant_serial_no"),
        api_v2_key=account.get("apiv2_key"),
        api_v3_key=account.get("apiv3_key"),
        wechatpay_public_key=merchant / "wechatpay_public_key.pem" if public_key else None,
        wechatpay_public_key_id=account.get("wechatpay_public_key_id") if public_key else None,
        secret_files=[merchant / "apiclient_key.pem", account_path],
    )


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, WeChatPayError):
        return exc.message
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or 'cannot read'}: {exc.filename}"
    return str(exc) or type(exc).__name__
