"""``weipay serve`` and ``weipay worker`` refuse to start on a setup that cannot work, and say what to run."""

from __future__ import annotations

import contextlib
import json
import shlex
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from weipay.cli.main import cli
from weipay.service.db.migrate import head_revision, upgrade

MERCHANT = {"mchid": "1230000109", "api_v2_key": "k" * 32}


def run(*args: str, cwd: Path) -> Result:
    """The command in ``cwd`` with no WEIPAY_ variable set, as on a fresh machine."""
    runner = CliRunner(env={"WEIPAY_CONFIG": None, "WEIPAY_DATABASE_URL": None, "WEIPAY_MERCHANTS": None})
    with contextlib.chdir(cwd):
        return runner.invoke(cli, list(args))


def config_for(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "weipay.json"
    path.write_text(json.dumps({"database_url": database_url, "merchants": [MERCHANT]}))
    return path


@pytest.mark.parametrize("command", [["serve"], ["worker", "--once"]])
def test_without_any_configuration_both_refuse_and_point_at_the_config_and_the_demo(
    tmp_path: Path, command: list[str]
) -> None:
    result = run(*command, cwd=tmp_path)
    assert result.exit_code == 1, result.output
    assert f"weipay {command[0]}: no merchants configured, so no payment could be taken" in result.output
    assert "--config FILE or WEIPAY_CONFIG" in result.output and "run `weipay demo`" in result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.rglob("*.sqlite3"))  # refused before anything was created


def test_worker_on_a_sqlite_file_that_does_not_exist(tmp_path: Path) -> None:
    database = tmp_path / "absent.sqlite3"
    config = config_for(tmp_path, f"sqlite:///{database}")
    result = run("worker", "--once", "--config", str(config), cwd=tmp_path)
    assert result.exit_code == 1
    expected = f"the SQLite database {database} does not exist; create it with `weipay db upgrade --config {config}`"
    assert expected in result.output
    assert not database.exists()


@pytest.mark.parametrize("command", [["serve", "--no-migrate"], ["worker", "--once"]])
def test_a_never_migrated_database_is_refused(tmp_path: Path, database_url: str, command: list[str]) -> None:
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).touch()  # exists, but empty
    config = config_for(tmp_path, database_url)
    result = run(*command, "--config", str(config), cwd=tmp_path)
    assert result.exit_code == 1
    shown = sa.make_url(database_url).render_as_string(hide_password=True)
    assert (f"weipay {command[0]}: the database {shown} has no weipay schema yet (head is {head_revision()}); "
            f"run `weipay db upgrade --config {shlex.quote(str(config))}`") in result.output  # fmt: skip
    assert "Traceback" not in result.output


def test_a_schema_behind_the_release_is_refused_until_upgraded(tmp_path: Path, database_url: str) -> None:
    upgrade(database_url, "0002")
    config = config_for(tmp_path, database_url)
    refused = run("worker", "--once", "--config", str(config), cwd=tmp_path)
    assert refused.exit_code == 1
    assert f"is at revision 0002, behind {head_revision()}; run `weipay db upgrade --config {config}`" in refused.output
    assert run("db", "upgrade", "--config", str(config), cwd=tmp_path).exit_code == 0
    ran = run("worker", "--once", "--config", str(config), cwd=tmp_path)
    assert ran.exit_code == 0, ran.output
    assert "ran 0 job(s)" in ran.output


def test_a_schema_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'newer.sqlite3'}"
    upgrade(database_url)
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    result = run("worker", "--once", "--config", str(config_for(tmp_path, database_url)), cwd=tmp_path)
    assert result.exit_code == 1
    assert "is at revision 0099, which this weipay does not know: a newer release migrated it" in result.output


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    config = config_for(tmp_path, "postgresql+psycopg://weipay:hunter2-secret@127.0.0.1:1/weipay")
    result = run("worker", "--once", "--config", str(config), cwd=tmp_path)
    assert result.exit_code == 1
    shown = "postgresql+psycopg://weipay:***@127.0.0.1:1/weipay"
    assert f"weipay worker: cannot reach the database {shown}: " in result.output
    assert "Check database_url and that the server runs." in result.output
    assert "hunter2" not in result.output and "Traceback" not in result.output
