"""``bench/capacity.py``, which docs/scaling.md's figures come from, runs from one command and measures every
operation it names: a short SQLite run completes each phase (so payments were paid by notification, refunds
succeeded and webhooks reached the receiver) and reports a positive CPU cost for each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
SRC = Path(__file__).resolve().parents[2] / "src"
OPERATIONS = {
    "create order", "start payment (native, v3)", "read order (GET)", "health check", "payment notification",
    "refund request", "refund notification", "worker job (all kinds)",
}  # fmt: skip


def test_short_capacity_run_measures_every_operation(tmp_path: Path) -> None:
    out = tmp_path / "capacity.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, str(BENCH / "capacity.py"), "--count", "8", "--json", str(out)],
                         capture_output=True, text=True, timeout=300, env=env)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    rows = json.loads(out.read_text())["rows"]
    assert set(rows) == OPERATIONS
    for name, row in rows.items():
        assert row["count"] >= 8, name
    # 8 payments of ~5 ms each cannot take less than a clock tick (10 ms) in all
    assert rows["start payment (native, v3)"]["cpu_ms"] > 0
    assert rows["worker job (all kinds)"]["count"] >= 16  # a webhook per payment and per refund at least
