"""``weipay config check --config FILE [--online]``: every merchant of the service's own settings file.

Offline, each merchant's key material goes through the same checks as ``--bundle`` (files, pairs, sizes,
permissions). With ``--online`` each merchant's credentials are then put to WeChat through the same SDK client
``weipay serve`` builds (same base URL, CA, verification mode), see :mod:`weipay.cli._config_probe`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from ._config_checks import FAIL, Inputs, Result, from_bundle, run_checks

if TYPE_CHECKING:
    from weipay.service.settings import MerchantSettings, Settings

__all__ = ["check_settings"]


def check_settings(
    settings: Settings,
    *,
    online: bool,
    echo: Callable[[str], None],
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> bool:
    """Print each merchant's lines under its mchid; True when nothing failed. ``transport``: the test seam."""
    ok = True
    if not settings.merchants:
        echo(f"{FAIL} no merchants configured (add [[merchants]] to the settings file)")
        return False
    for merchant in settings.merchants:
        echo(f"merchant {merchant.mchid}:")
        for result in _merchant_results(merchant, settings, online=online, transport=transport, clock=clock):
            ok = ok and result.mark != FAIL
            echo(f"  {result.mark} {result.text}")
    return ok


def _merchant_results(
    merchant: MerchantSettings,
    settings: Settings,
    *,
    online: bool,
    transport: httpx.BaseTransport | None,
    clock: Callable[[], float],
) -> Iterator[Result]:
    yield from run_checks(_inputs(merchant))
    if not online:
        return
    from weipay.service.bootstrap.merchants import build_merchant
    from weipay.service.settings import SettingsError

    from ._config_probe import probe_merchant

    try:
        built = build_merchant(merchant, settings, wechat_transport=transport, secure_transport=transport,
                               login_transport=None, clock=clock)  # fmt: skip
    except SettingsError as exc:
        yield Result(FAIL, f"online checks not run: {exc}")
        return
    ca_path = merchant.wechat.ca_path
    try:
        yield from probe_merchant(built.client, built.credentials, built.client.base_url, clock=clock,
                                  transport=transport, verify_tls=str(ca_path) if ca_path else True)  # fmt: skip
    finally:
        built.client.close()


def _inputs(merchant: MerchantSettings) -> Inputs:
    """What the settings hand to the SDK, as the offline checks read it (a bundle, or files and keys)."""
    if merchant.bundle_dir is not None:
        return from_bundle(merchant.bundle_dir)
    key = merchant.private_key_path
    return Inputs(
        mchid=merchant.mchid,
        private_key=key,
        merchant_cert=merchant.merchant_cert_path,
        serial_no=merchant.merchant_serial_no,
        api_v2_key=merchant.api_v2_key.get_secret_value() if merchant.api_v2_key else None,
        api_v3_key=merchant.api_v3_key.get_secret_value() if merchant.api_v3_key else None,
        wechatpay_public_key=merchant.wechatpay_public_key_path,
        wechatpay_public_key_id=merchant.wechatpay_public_key_id,
        secret_files=[Path(key)] if key is not None else [],
        v2_only=key is None and merchant.merchant_cert_path is None,
    )

