"""``weipay worker --heartbeat-file`` / ``--check`` (the worker's liveness signal), and ``weipay db current`` /
``db downgrade`` (rolling a release back), through click on a real SQLite database."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from click.testing import CliRunner

from weipay.cli.main import cli
from weipay.service.jobs import poll_loop


def _config(tmp_path: Path) -> tuple[Path, str]:
    database_url = f"sqlite:///{tmp_path / 'w.sqlite3'}"
    assert CliRunner().invoke(cli, ["db", "upgrade", "--database-url", database_url]).exit_code == 0
    config = tmp_path / "weipay.json"
    config.write_text(json.dumps({"database_url": database_url,
                                  "merchants": [{"mchid": "1230000109", "api_v2_key": "k" * 32}]}))
    return config, database_url


def test_a_worker_pass_writes_the_heartbeat_and_check_reads_it(tmp_path: Path) -> None:
    config, _ = _config(tmp_path)
    beat = tmp_path / "run" / "worker.heartbeat"
    runner = CliRunner()
    missing = runner.invoke(cli, ["worker", "--check", "--heartbeat-file", str(beat)])
    assert missing.exit_code == 1 and f"worker not alive: no heartbeat file {beat}" in missing.output

    ran = runner.invoke(cli, ["worker", "--once", "--config", str(config), "--heartbeat-file", str(beat)])
    assert ran.exit_code == 0, ran.output
    fresh = runner.invoke(cli, ["worker", "--check", "--heartbeat-file", str(beat)])
    assert fresh.exit_code == 0 and "worker alive" in fresh.output

    old = time.time() - 400
    os.utime(beat, (old, old))
    stale = runner.invoke(cli, ["worker", "--check", "--heartbeat-file", str(beat)])
    assert stale.exit_code == 1 and "last good pass ended 400 s ago (allowed: 300 s)" in stale.output
    assert runner.invoke(cli, ["worker", "--check", "--heartbeat-file", str(beat), "--max-age", "600"]).exit_code == 0
    bare = runner.invoke(cli, ["worker", "--check"])
    assert bare.exit_code == 2 and "--check needs --heartbeat-file" in bare.output


def test_the_loop_beats_only_after_passes_that_did_not_fail() -> None:
    outcomes = iter([0, RuntimeError("database down"), RuntimeError("database down"), 0])
    beats: list[int] = []
    errors: list[Exception] = []
    stop = threading.Event()

    def run_pass() -> int:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        if not isinstance(outcome, Exception) and len(errors) == 2:
            stop.set()
        return outcome

    poll_loop(run_pass, stop=stop, poll_s=0.001, on_error=errors.append, heartbeat=lambda: beats.append(len(errors)))
    assert beats == [0, 2] and len(errors) == 2


def test_db_current_and_a_rollback_by_one_revision(tmp_path: Path) -> None:
    from weipay.service.db.migrate import head_revision

    _, database_url = _config(tmp_path)
    runner = CliRunner()
    head = head_revision()
    current = runner.invoke(cli, ["db", "current", "--database-url", database_url])
    assert current.exit_code == 0 and f"database at revision {head}; this release needs {head}" in current.output
    previous = f"{int(head) - 1:04d}"
    down = runner.invoke(cli, ["db", "downgrade", "--database-url", database_url, previous])
    assert down.exit_code == 0 and f"database at revision {previous}" in down.output
    behind = runner.invoke(cli, ["db", "current", "--database-url", database_url])
    assert behind.exit_code == 1 and f"database at revision {previous}; this release needs {head}" in behind.output
    unknown = runner.invoke(cli, ["db", "downgrade", "--database-url", database_url, "9999"])
    assert unknown.exit_code == 1 and "downgrade failed" in unknown.output and "Traceback" not in unknown.output
    assert runner.invoke(cli, ["db", "upgrade", "--database-url", database_url]).exit_code == 0
