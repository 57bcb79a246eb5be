"""``weipay serve | worker | db upgrade | reconcile | demo``: the payment service's commands.

``demo`` composes the simulator and the service in one process (threads): it is the README's run
command and needs no configuration. ``demo --script`` walks an order from creation to refund over
real loopback HTTP and exits 0 only if every step did what it should.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from weipay.service.usecases import ReconcileReport

__all__ = ["db", "demo", "reconcile", "serve", "server_options", "worker"]

_config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="WEIPAY_CONFIG",
    help="TOML or JSON settings file (default: $WEIPAY_CONFIG; WEIPAY_* variables override it).",
)


def _load(config_path: Path | None) -> Any:
    from weipay.service.settings import SettingsError, load_settings

    try:
        return load_settings(config_path)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _ready(settings: Any, command: str, config_path: Path | None, *, schema: bool = True) -> None:
    """Refuse to start without merchants or on a schema behind this release (:mod:`weipay.service.preflight`)."""
    import shlex

    from weipay.service import preflight

    try:
        preflight.require_merchants(settings, command=command)
        if schema:
            hint = f"--config {shlex.quote(str(config_path))}" if config_path is not None else ""
            preflight.check_schema(settings.database_url, command=command, config_hint=hint)
    except preflight.NotReady as exc:
        raise click.ClickException(str(exc)) from None


_log_format_option = click.option(
    "--log-format", type=click.Choice(["json", "console"]), default=None,
    help="log lines as JSON objects (for a log shipper) or readable text (default: the log_format setting; "
         "json in production, console in development)",
)


def _configure_logs(settings: Any, log_format: str | None) -> None:
    from weipay.service.logs import configure_logging, default_format

    chosen = log_format or settings.log_format or default_format(settings.environment)
    configure_logging(settings.log_level, "json" if chosen == "json" else "console")


@click.command()
@_config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--migrate/--no-migrate", default=None, help="run migrations first (default: only for SQLite)")
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 64),
    help="API processes sharing the port (PostgreSQL only): one event loop each, so about one per CPU core",
)  # fmt: skip
@_log_format_option
def serve(
    config_path: Path | None, host: str, port: int, migrate: bool | None, workers: int, log_format: str | None
) -> None:
    """Run the payment service (HTTP API, notify endpoints, console) with uvicorn.

    One process serves everything; ``--workers N`` runs N of them on one port (each its own event loop,
    database pool and WeChat connections; PostgreSQL decides every race between them). More machines: run
    ``weipay serve`` on each behind a load balancer, see docs/scaling.md. X-Forwarded-For and
    X-Forwarded-Proto are believed only from the trusted_proxies setting's addresses.
    """
    import os

    import uvicorn

    from weipay.service.api import create_app, freeze_startup_heap

    settings = _load(config_path)
    _ready(settings, "weipay serve", config_path, schema=False)
    if workers > 1 and settings.database_url.startswith("sqlite"):
        raise click.ClickException(
            "--workers needs PostgreSQL: SQLite has one writer, which one process already keeps busy; "
            "set database_url to postgresql+psycopg://... or run one process"
        )
    if migrate or (migrate is None and settings.database_url.startswith("sqlite")):
        _upgrade(settings.database_url)
    _ready(settings, "weipay serve", config_path)
    _configure_logs(settings, log_format)
    if workers > 1:
        # Each process builds its app from the same settings: the config path travels in the environment.
        if config_path is not None:
            os.environ["WEIPAY_CONFIG"] = str(config_path.resolve())
        uvicorn.run("weipay.service.api.process:app_from_environment", factory=True, workers=workers, host=host,
                    port=port, **server_options(settings))  # fmt: skip
        return
    app = create_app(settings)
    freeze_startup_heap()  # no full-collection pauses over the start-up heap while serving (the p99)
    uvicorn.run(app, host=host, port=port, **server_options(settings))


def server_options(settings: Any) -> dict[str, Any]:
    """uvicorn's options for ``weipay serve`` (tests serve an app with exactly these).

    ``X-Forwarded-For``/``-Proto`` only from ``trusted_proxies``: the client address they give becomes the
    request's peer, which is the payer IP an H5 payment sends WeChat. ``log_config=None``: uvicorn's own records
    (its access log too) go through the handler of :mod:`weipay.service.logs`, with the request id.
    """
    return {"log_level": settings.log_level.lower(), "log_config": None, "proxy_headers": True,
            "forwarded_allow_ips": list(settings.trusted_proxies)}  # fmt: skip


@click.command()
@_config_option
@click.option("--poll-interval", "poll_interval_s", default=1.0, show_default=True, type=click.FloatRange(0.05, 60))
@click.option("--once", is_flag=True, help="run the jobs due now, then exit")
@click.option(
    "--metrics-port", type=click.IntRange(0, 65535), default=None,
    help="serve Prometheus metrics (WeChat calls this worker made, job and webhook backlog, anomalies, alerts) "
         "on this port at /metrics",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="address for --metrics-port")
@click.option("--heartbeat-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="touch this file after every pass that did not fail (the liveness signal --check reads)")
@click.option("--check", is_flag=True,
              help="check the --heartbeat-file of a running worker and exit: 0 if fresh, 1 with the reason if not")
@click.option("--max-age", "max_age_s", type=click.FloatRange(1), default=None,
              help="with --check: the oldest heartbeat that passes, in seconds  [default: 300]")
@_log_format_option
def worker(config_path: Path | None, poll_interval_s: float, once: bool, metrics_port: int | None, metrics_host: str,
           heartbeat_file: Path | None, check: bool, max_age_s: float | None, log_format: str | None) -> None:
    """Run due jobs (queries, expiries, refunds, webhooks, alerts, reconciliation) in a loop, logging each job's
    outcome."""
    import logging
    import signal

    from weipay.service.jobs import heartbeat

    if check:
        if heartbeat_file is None:
            raise click.UsageError("--check needs --heartbeat-file (the one the worker was started with)")
        problem = heartbeat.stale_reason(heartbeat_file, max_age_s or heartbeat.DEFAULT_MAX_AGE_S)
        if problem is not None:
            raise click.ClickException(f"worker not alive: {problem}")
        click.echo(f"worker alive: {heartbeat_file} is fresh")
        return
    from weipay.service.bootstrap import build_services
    from weipay.service.jobs import poll_loop

    settings = _load(config_path)
    _ready(settings, "weipay worker", config_path)
    _configure_logs(settings, log_format)
    log = logging.getLogger("weipay.service.jobs")
    services = build_services(settings)
    beat = heartbeat.beat(heartbeat_file) if heartbeat_file is not None else None
    try:
        if once:
            ran = services.run_due_jobs()
            if beat is not None:
                beat()
            click.echo(f"ran {ran} job(s)")
            return
        _seed_schedules(settings, services)  # not for --once: a one-off pass must not start a schedule
        if metrics_port is not None:
            _serve_worker_metrics(services, metrics_host, metrics_port)
        log.info("worker polling every %g s", poll_interval_s, extra={"poll_interval_s": poll_interval_s})

        def on_error(exc: Exception) -> None:  # a bad pass must not kill the worker; the job row keeps its error
            log.error("worker pass failed: %s: %s", type(exc).__name__, exc, exc_info=exc)

        stop = threading.Event()
        # systemd stops with SIGTERM: finish the pass in hand, then exit (a job cut short would wait out its lease).
        signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C in a terminal
            poll_loop(services.run_due_jobs, stop=stop, poll_s=poll_interval_s, on_error=on_error, heartbeat=beat)
        log.info("worker stopped")
    finally:
        services.close()


def _seed_schedules(settings: Any, services: Any) -> None:
    """Each merchant's daily jobs (certificate check, reconciliation), if it has none yet (safe at every start)."""
    from weipay.service.usecases.credential_watch import seed_credential_checks
    from weipay.service.usecases.reconcile_schedule import parse_time_of_day, seed_reconciliation

    seed_credential_checks(services.uow, [m.mchid for m in settings.merchants], services.clock)
    if not settings.reconcile_daily:
        return
    at = parse_time_of_day(settings.reconcile_at)
    added = seed_reconciliation(services.uow, [m.mchid for m in settings.merchants], services.clock, at)
    if added:
        click.echo(f"scheduled the daily reconciliation of {added} merchant(s) at {settings.reconcile_at} Beijing time")


def _serve_worker_metrics(services: Any, host: str, port: int) -> Any:
    """prometheus_client's own HTTP server on a daemon thread (the worker imports no web framework); the server."""
    from prometheus_client import CollectorRegistry, start_http_server

    from weipay.service.metrics import ServiceMetrics

    registry = CollectorRegistry()
    ServiceMetrics(registry, services.uow, services.clock)
    server, _thread = start_http_server(port, addr=host, registry=registry)
    click.echo(f"worker metrics on http://{host}:{server.server_port}/metrics")
    return server


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@_config_option
@click.option("--database-url", default=None, help="override the configured database URL")
def db_upgrade(config_path: Path | None, database_url: str | None) -> None:
    """Apply the Alembic migrations up to the newest revision."""
    url = database_url or _load(config_path).database_url
    revision = _upgrade(url)
    click.echo(f"database at revision {revision}")


@db.command("downgrade")
@_config_option
@click.option("--database-url", default=None, help="override the configured database URL")
@click.argument("revision")
def db_downgrade(config_path: Path | None, database_url: str | None, revision: str) -> None:
    """Revert the schema to REVISION (a revision id such as 0004), to roll back to an older release.

    Stop `serve` and `worker` first, and back the database up: a downgrade drops what the newer revisions added.
    """
    from weipay.service.db.migrate import downgrade

    url = database_url or _load(config_path).database_url
    try:
        now = downgrade(url, revision)
    except Exception as exc:  # unknown revision, connection refused: say so without a traceback
        raise click.ClickException(f"downgrade failed: {type(exc).__name__}: {exc}") from None
    click.echo(f"database at revision {now or '(empty: no revision)'}")


@db.command("current")
@_config_option
@click.option("--database-url", default=None, help="override the configured database URL")
def db_current(config_path: Path | None, database_url: str | None) -> None:
    """Print the database's revision and this release's newest one; exit 1 when they differ."""
    from weipay.service.db.engine import create_engine_for
    from weipay.service.db.migrate import current_revision, head_revision

    url = database_url or _load(config_path).database_url
    engine = create_engine_for(url, pool_size=1)
    try:
        current = current_revision(engine)
    except Exception as exc:
        raise click.ClickException(f"cannot read the revision: {type(exc).__name__}: {exc}") from None
    finally:
        engine.dispose()
    head = head_revision()
    click.echo(f"database at revision {current or '(none)'}; this release needs {head}")
    if current != head:
        sys.exit(1)


def _upgrade(database_url: str) -> str:
    from weipay.service.db.migrate import upgrade

    try:
        return upgrade(database_url)
    except Exception as exc:  # connection refused, bad URL, permissions: say so without a traceback
        raise click.ClickException(f"migration failed: {type(exc).__name__}: {exc}") from None


@click.command()
@_config_option
@click.option("--date", "bill_date", required=True, type=click.DateTime(["%Y-%m-%d"]), help="the bill day")
@click.option("--mchid", default=None, help="only this merchant (default: all)")
def reconcile(config_path: Path | None, bill_date: dt.datetime, mchid: str | None) -> None:
    """Compare one day's WeChat bill with the local ledger and repair what WeChat proves."""
    from rich.progress import Progress

    from weipay.service.bootstrap import build_services
    from weipay.service.usecases import reconcile_day

    settings = _load(config_path)
    merchants = [m.mchid for m in settings.merchants if mchid in (None, m.mchid)]
    if not merchants:
        raise click.ClickException(f"no merchant {mchid} in the settings" if mchid else "no merchants configured")
    services = build_services(settings)
    failed = False
    try:
        with Progress() as progress:
            task = progress.add_task(f"reconciling {bill_date:%Y-%m-%d}", total=len(merchants))
            for merchant_id in merchants:
                try:
                    report = reconcile_day(
                        services.uow,
                        services.gateway,
                        services.clock,
                        services.merchant_config(merchant_id),
                        bill_date.date(),
                    )
                    progress.console.print(_describe_report(merchant_id, report))
                except Exception as exc:  # one merchant's failure must not hide the others' reports
                    failed = True
                    progress.console.print(f"{merchant_id}: failed: {type(exc).__name__}: {exc}")
                progress.advance(task)
    finally:
        services.close()
    if failed:
        sys.exit(1)


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _describe_report(mchid: str, report: ReconcileReport) -> str:
    lines = [
        f"{mchid}: {report.bill_lines} bill lines, {report.payments_matched} payments matched, "
        f"{len(report.discrepancies)} discrepancies"
    ]
    for item in report.discrepancies:
        repaired = "repaired" if item.repaired else "to review"
        lines.append(f"  {item.kind} {item.out_trade_no} {item.detail} ({repaired})")
    return "\n".join(lines)


@click.command()
@click.option("--dir", "directory", default="weipay-demo", show_default=True, type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="service port")
@click.option("--simulator-port", default=8900, show_default=True, type=click.IntRange(0, 65535))
@click.option("--simulator-https-port", default=8901, show_default=True, type=click.IntRange(0, 65535))
@click.option("--time-scale", default=1.0, show_default=True, type=click.FloatRange(0.1, 100000))
@click.option("--script", is_flag=True, help="walk an order from creation to refund, then exit 0 (or 1)")
def demo(
    directory: Path,
    host: str,
    port: int,
    simulator_port: int,
    simulator_https_port: int,
    time_scale: float,
    script: bool,
) -> None:
    """The simulator and the payment service together on SQLite, no configuration needed."""
    import signal

    from . import _service_demo

    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    if script:
        port, simulator_port, simulator_https_port = 0, 0, 0
    stack = _service_demo.DemoStack(directory, host, port, simulator_port, simulator_https_port, time_scale)
    try:
        stack.start()
    except _service_demo.DemoError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        if script:
            ok = _service_demo.run_script(stack, echo=click.echo)
            sys.exit(0 if ok else 1)
        click.echo(stack.banner())
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        stack.stop()
