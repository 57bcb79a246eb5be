"""``weipay demo --script`` end to end as a subprocess; db upgrade, worker and settings errors through click."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from weipay.cli.main import cli


def test_demo_script_passes_as_a_subprocess(tmp_path: Path) -> None:
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "weipay"), "demo", "--script", "--dir", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "OK: order paid by notification and refunded" in completed.stdout
    assert (tmp_path / "demo" / "merchant" / "account.json").exists()
    assert "Traceback" not in completed.stderr


def test_db_upgrade_then_worker_once(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'w.sqlite3'}"
    runner = CliRunner()
    upgraded = runner.invoke(cli, ["db", "upgrade", "--database-url", database_url])
    assert upgraded.exit_code == 0, upgraded.output
    assert "database at revision" in upgraded.output
    config = tmp_path / "weipay.json"
    config.write_text(json.dumps({"database_url": database_url,
                                  "merchants": [{"mchid": "1230000109", "api_v2_key": "k" * 32}]}))
    ran = runner.invoke(cli, ["worker", "--once", "--config", str(config)])
    assert ran.exit_code == 0, ran.output
    assert "ran 0 job(s)" in ran.output


def test_bad_settings_are_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "weipay.toml"
    config.write_text('[[merchants]]\nmchid = "12x"\n')
    result = CliRunner().invoke(cli, ["serve", "--config", str(config)])
    assert result.exit_code == 1
    assert "merchants.0.mchid" in result.output and "Traceback" not in result.output
    missing = CliRunner().invoke(cli, ["worker", "--once", "--config", str(tmp_path / "absent.toml")])
    assert missing.exit_code != 0 and "Traceback" not in missing.output


def test_db_upgrade_reports_unreachable_database() -> None:
    result = CliRunner().invoke(cli, ["db", "upgrade", "--database-url", "postgresql://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 1 and "migration failed" in result.output


def test_reconcile_validates_the_date(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["reconcile", "--date", "23/11/2026"])
    assert result.exit_code == 2 and "%Y-%m-%d" in result.output


def test_reconcile_a_day_against_the_simulator_over_loopback(tmp_path: Path) -> None:
    import datetime as dt

    from weipay.cli._service_demo import DemoStack, run_script

    stack = DemoStack(tmp_path / "demo", "127.0.0.1", 0, 0, 0, 1.0)
    stack.start()
    try:
        assert run_script(stack, echo=lambda line: None, timeout_s=20)
        merchant = stack.services.settings.merchants[0]
        config = tmp_path / "weipay.json"
        config.write_text(json.dumps({
            "database_url": stack.database_url,
            "merchants": [{"mchid": merchant.mchid, "bundle_dir": str(merchant.bundle_dir),
                           "wechat": merchant.wechat.model_dump(mode="json")}],
        }))  # fmt: skip
        today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
        result = CliRunner().invoke(cli, ["reconcile", "--config", str(config), "--date", today])
    finally:
        stack.stop()
    assert result.exit_code == 0, result.output
    assert f"{merchant.mchid}: 2 bill lines, 1 payments matched, 0 discrepancies" in result.output


def test_the_worker_never_imports_the_web_framework(tmp_path: Path) -> None:
    """``weipay worker`` starts from ``service.bootstrap``: a fresh interpreter runs a pass with no FastAPI,
    Starlette or Jinja2 loaded (the import-linter contract checks the modules; this checks the whole command)."""
    database_url = f"sqlite:///{tmp_path / 'w.sqlite3'}"
    assert CliRunner().invoke(cli, ["db", "upgrade", "--database-url", database_url]).exit_code == 0
    config = tmp_path / "weipay.json"
    config.write_text(json.dumps({"database_url": database_url,
                                  "merchants": [{"mchid": "1230000109", "api_v2_key": "k" * 32}]}))
    program = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from weipay.cli.main import cli\n"
        f"result = CliRunner().invoke(cli, ['worker', '--once', '--config', {str(config)!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(result.output.strip())\n"
        "print(sorted({name.split('.')[0] for name in sys.modules} & {'fastapi', 'starlette', 'jinja2'}))\n"
    )
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == ["ran 0 job(s)", "[]"]


def test_the_worker_serves_its_metrics_without_a_web_framework(tmp_path: Path) -> None:
    """``weipay worker --metrics-port``: prometheus_client's own server, with the backlog read from the database."""
    import httpx

    from weipay.cli.service_cmd import _serve_worker_metrics
    from weipay.service.bootstrap import build_services
    from weipay.service.settings import load_settings

    database_url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    assert CliRunner().invoke(cli, ["db", "upgrade", "--database-url", database_url]).exit_code == 0
    settings = load_settings(environ={}, overrides={"database_url": database_url,
                                                    "merchants": [{"mchid": "1230000109", "api_v2_key": "k" * 32}]})
    services = build_services(settings)
    with services.uow.write() as tx:
        tx.jobs.enqueue("expire_order", {"order_id": "o1"}, due_at=0.0, now=0.0)
    server = _serve_worker_metrics(services, "127.0.0.1", 0)
    try:
        text = httpx.get(f"http://127.0.0.1:{server.server_port}/metrics").text
    finally:
        server.shutdown()
        services.close()
    assert "weipay_backlog_up 1.0" in text
    assert 'weipay_jobs_due{kind="expire_order"} 1.0' in text
    assert "weipay_wechat_calls_total" in text and "weipay_http_requests_total" not in text
