"""``weipay simulator init|serve``: the offline WeChat Pay servers."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["simulator"]


@click.group("simulator")
def simulator() -> None:
    """The offline WeChat Pay servers (API v2, API v3, mini-program login, a payer page).

    \b
    weipay simulator init DIR    write a merchant bundle (keys, certificates, account.json)
    weipay simulator serve DIR   serve it on http://127.0.0.1:8900 and https://127.0.0.1:8901
    """


@simulator.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--verification", type=click.Choice(["public_key", "platform_certificate"]), default="public_key",
              show_default=True,
              help="How the merchant verifies WeChat: the WeChat Pay public key (PUB_KEY_ID_…, new merchants) "
                   "or platform certificates downloaded from /v3/certificates.")
@click.option("--mchid", help="Merchant id (8-10 digits). Default: random.")
@click.option("--port", type=int, default=8900, show_default=True, help="HTTP port written into base_url.")
@click.option("--https-port", type=int, default=8901, show_default=True,
              help="HTTPS port (client certificate required) written into https_base_url.")
@click.option("--force", is_flag=True, help="Replace an existing bundle (its keys and ledger are lost).")
def init(directory: Path, verification: str, mchid: str | None, port: int, https_port: int, force: bool) -> None:
    """Write a merchant bundle to DIRECTORY, as WeChat Pay would hand it to a merchant.

    \b
    DIR/merchant/account.json             mchid, appids, app_secrets, API keys, serials, base URLs
    DIR/merchant/apiclient_key.pem        merchant private key (signs v3 requests)
    DIR/merchant/apiclient_cert.pem       merchant certificate (serial = merchant_serial_no)
    DIR/merchant/apiclient_cert.p12       the same pair as PKCS#12, password = mchid
    DIR/merchant/wechatpay_public_key.pem WeChat Pay public key (id = wechatpay_public_key_id)
    DIR/merchant/simulator_ca.pem         CA to trust the simulator's HTTPS port
    DIR/simulator/                        the simulator's own keys and state
    """
    from weipay.simulator.bundle import BundleExists, init_bundle

    try:
        account = init_bundle(directory, verification=verification, mchid=mchid, port=port, https_port=https_port,
                              force=force)
    except BundleExists as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"Wrote a simulator bundle for merchant {account['mchid']} ({verification}) to {directory}")
    click.echo(f"  merchant files: {directory / 'merchant'}")
    click.echo(f"  serve it:       weipay simulator serve {directory}")


@simulator.command("serve")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=int, help="HTTP port (default: the one in account.json).")
@click.option("--https-port", type=int, help="HTTPS port for /secapi/ with client certificates "
                                                "(default: the one in account.json).")
@click.option("--time-scale", type=float, default=1.0, show_default=True,
              help="Simulated time runs X times faster: 1000 turns the 24 h notification retry schedule into ~87 s "
                   "(signature timestamps stay on the real clock).")
@click.option("--strict", is_flag=True, help="Enforce production rules (https notify_url without a port, "
                                             "close no sooner than 5 min after creation, …).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fault plan.")
@click.option("--refund-processing-s", type=click.FloatRange(0), default=None,
              help="Simulated seconds a refund stays PROCESSING before it succeeds  [default: 2].")
@click.option("--hang-s", type=click.FloatRange(0), default=None,
              help="Real seconds a request whose answer the fault plan loses (commit_then_timeout_rate) is held "
                   "before a 504; above the client's read timeout, the client times out  [default: 15].")
@click.option("--tick-interval", "tick_interval_s", type=click.FloatRange(0), default=0.1, show_default=True,
              help="Real seconds between runs of due work (refunds finishing, notifications due, orders "
                   "expiring); 0: only when you POST /simulator/tick, for step-by-step tests.")
def serve(directory: Path, host: str, port: int | None, https_port: int | None, time_scale: float, strict: bool,
          seed: int, refund_processing_s: float | None, hang_s: float | None, tick_interval_s: float) -> None:
    """Serve the bundle in DIRECTORY: WeChat's real paths plus the /simulator/ control API.

    \b
    Point an SDK at it:
      weipay:       MerchantCredentials.from_bundle(Path("DIR/merchant")), base_url from account.json
      wechatpayv3:  wxpay._core._gate_way = "<base_url>"
      wechatpy:     pay.API_BASE_URL = "<base_url>/"  (refunds: "<https_base_url>/" + apiclient_cert.pem/key)
    Pay as a user at <base_url>/simulator/payer, or POST /simulator/payments.
    """
    from weipay.simulator.server import serve as run

    if time_scale <= 0:
        raise click.BadParameter("must be positive", param_hint="--time-scale")
    try:
        run(directory, host=host, port=port, https_port=https_port, time_scale=time_scale, strict=strict, seed=seed,
            echo=click.echo, refund_processing_s=refund_processing_s, hang_s=hang_s,
            tick_interval_s=tick_interval_s or None)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}: {exc.strerror or exc} (try other --port/--https-port)"
                                   ) from None
