"""``weipay config check``: is this merchant's key material complete, consistent and private?

Each check prints one line: ``✓`` passed, ``✗`` failed (exit code 1), ``·`` not applicable. Secrets are
never printed; keys are read from files, a bundle, or the environment (``WEIPAY_API_V2_KEY``,
``WEIPAY_API_V3_KEY``) so they stay out of shell history. ``--config FILE`` checks every merchant of the
service's settings (:mod:`weipay.cli._config_service`); ``--online`` asks WeChat (:mod:`weipay.cli._config_probe`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from weipay.sdk.errors import WeChatPayError

from ._config_checks import FAIL, Inputs, Result, describe_error, from_bundle, run_checks

__all__ = ["config"]


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
        click.echo(f"Error: {describe_error(exc)}", err=True)
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


