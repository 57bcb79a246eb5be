"""``weipay config check``: is this merchant's key material complete, consistent and private?

Each check prints one line: ``✓`` passed, ``✗`` failed (exit code 1), ``·`` not applicable. Secrets are
never printed; keys are read from files, a bundle, or the environment (``WEIPAY_API_V2_KEY``,
``WEIPAY_API_V3_KEY``) so they stay out of shell history. ``--config FILE`` checks every merchant of the
service's settings (:mod:`weipay.cli._config_service`); ``--online`` asks WeChat (:mod:`weipay.cli._config_probe`).
"""

from __future__ import annotations

import json
import ssl
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from weipay.sdk.crypto import certificate_serial, load_certificate, load_private_key, load_public_key, rsa_verify
from weipay.sdk.errors import WeChatPayError
from weipay.sdk.v2.signing import sign as v2_sign
from weipay.sdk.v2.signing import verify as v2_verify
from weipay.sdk.v3.signing import authorization, parse_authorization, request_message

__all__ = ["FAIL", "PASS", "SKIP", "Inputs", "Result", "config", "from_bundle", "run_checks"]

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


@click.group("config")
def config() -> None:
    """Check a merchant's WeChat Pay configuration."""


@config.command("check")
@click.option(
    "--bundle", type=click.Path(file_okay=False, path_type=Path), help="A merchant bundle (DIR or DIR/merchant)."
)
@click.option("--mchid", help="Merchant id (digits).")
@click.option("--private-key", type=click.Path(dir_okay=False, path_type=Path), help="apiclient_key.pem")
@click.option("--merchant-cert", type=click.Path(dir_okay=False, path_type=Path), help="apiclient_cert.pem")
@click.option("--serial-no", help="Merchant certificate serial (default: read from --merchant-cert).")
@click.option("--api-v2-key", envvar="WEIPAY_API_V2_KEY", help="APIv2 key (better: WEIPAY_API_V2_KEY).")
@click.option("--api-v3-key", envvar="WEIPAY_API_V3_KEY", help="APIv3 key (better: WEIPAY_API_V3_KEY).")
@click.option(
    "--wechatpay-public-key", type=click.Path(dir_okay=False, path_type=Path), help="WeChat Pay public key PEM."
)
@click.option("--wechatpay-public-key-id", help="Its id, PUB_KEY_ID_…")
@click.option(
    "--generate",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a throwaway merchant bundle to this directory, then check it (a self-test of this machine).",
)
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    help="The service's settings file: check every merchant in it (WEIPAY_* variables apply, as for serve).",
)
@click.option("--online", is_flag=True, help="Also ask WeChat (or the simulator) whether each credential is right.")
def check(
    generate: Path | None, bundle: Path | None, config_path: Path | None, online: bool, **flags: Any
) -> None:
    """Check keys, certificates and file permissions; one line per check.

    \b
    What is checked:
      --config FILE  every merchant of the service's settings file (as `weipay serve` reads it)
      --bundle DIR   one merchant bundle (`weipay simulator init`)
      flags          one merchant's files and keys (--mchid, --private-key, ...)

    \b
    --online asks WeChat (or the simulator the settings point at) with each credential, changing
    nothing there, and names the wrong one:
      clock skew                 WeChat's Date header (signatures more than 300 s off are refused)
      WeChat Pay public key id   the Wechatpay-Serial WeChat signs with
      merchant key or serial     a signed v3 query of a non-existent order (SIGN_ERROR or ORDER_NOT_EXIST)
      APIv3 key                  decrypting the platform certificates (accounts that have them)
      public key / certificates  verifying WeChat's signed answer
      APIv2 key                  a signed v2 orderquery (签名错误 or ORDERNOTEXIST)

    \b
    Exit status: 0 every check passed, 1 a check failed, 2 the settings or bundle could not be read.
    """
    if config_path is not None:
        _check_config(config_path, online)
        return
    try:
        if generate is not None:
            bundle = _generate(generate)
        inputs = from_bundle(bundle) if bundle is not None else _from_flags(flags)
    except (WeChatPayError, OSError, ValueError) as exc:
        click.echo(f"Error: {_message(exc)}", err=True)
        raise SystemExit(2) from None
    failed = False
    results = list(run_checks(inputs))
    if online:
        if bundle is None:
            raise click.UsageError("--online needs --config or --bundle (they say where WeChat is)")
        results += list(_probe_bundle(bundle))
    for result in results:
        failed = failed or result.mark == FAIL
        click.echo(f"{result.mark} {result.text}")
    if failed:
        raise SystemExit(1)
    click.echo("configuration OK")


def _check_config(config_path: Path, online: bool) -> None:
    from weipay.service.settings import SettingsError, load_settings

    from ._config_service import check_settings

    try:
        settings = load_settings(config_path)
    except SettingsError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(2) from None
    if not check_settings(settings, online=online, echo=click.echo):
        raise SystemExit(1)
    click.echo("configuration OK")


def _probe_bundle(bundle: Path) -> Iterator[Result]:
    import time

    from weipay.sdk import Client
    from weipay.sdk.credentials import MerchantCredentials

    from ._config_probe import probe_merchant

    merchant = bundle / "merchant" if (bundle / "merchant" / "account.json").exists() else bundle
    account = json.loads((merchant / "account.json").read_text(encoding="utf-8"))
    credentials = MerchantCredentials.from_bundle(merchant)
    ca = merchant / "simulator_ca.pem"
    verify_tls: bool | str = str(ca) if ca.exists() else True
    with Client(credentials, base_url=account["base_url"], verify_tls=verify_tls) as client:
        yield from probe_merchant(client, credentials, account["base_url"], clock=time.time, verify_tls=verify_tls)


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
            yield Result(FAIL, f"{run.__name__.removeprefix('_check_').replace('_', ' ')}: {_message(exc)}")


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


def _from_flags(flags: dict[str, Any]) -> Inputs:
    inputs = Inputs(**flags)
    if inputs.private_key is not None:
        inputs.secret_files.append(inputs.private_key)
    return inputs


def _generate(directory: Path) -> Path:
    from weipay.simulator.bundle import init_bundle

    account = init_bundle(directory)
    click.echo(f"wrote a throwaway merchant bundle for {account['mchid']} to {directory}")
    return directory


def _message(exc: BaseException) -> str:
    if isinstance(exc, WeChatPayError):
        return exc.message
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or 'cannot read'}: {exc.filename}"
    return str(exc) or type(exc).__name__
