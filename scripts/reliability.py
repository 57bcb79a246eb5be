"""Run the proofs of RELIABILITY.md's promises P1–P10 at full size and write their figures.

The proofs live in ``tests/service/reliability/proofs.py`` (the CI test ``test_proof_sizes.py`` runs the same
functions at reduced sizes). This script runs them at the sizes RELIABILITY.md gives, on SQLite and (when
``WEIPAY_TEST_POSTGRES_URL`` is set) PostgreSQL, prints a table and writes the figures as JSON.
P2 (crash runs) repeats the ``kill -9`` suites ``tests/service/reliability/test_crash_*.py`` ``--crash-repeats``
times through pytest; P5 (ack latency, junk flood) is ``bench/notify_bench.py`` (needs ``wrk``).

    WEIPAY_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
      PYTHONPATH=src .venv/bin/python scripts/reliability.py --json docs/reliability-figures.json
    .venv/bin/python scripts/reliability.py --only P1 P3 --scale 0.1       # a quicker look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    """A fresh database of ``backend`` (the tests' conftest makes PostgreSQL ones the same way)."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'proof-{time.time_ns()}.sqlite3'}"
        return
    from tests.conftest import _fresh_postgres_database

    yield from _fresh_postgres_database(os.environ["WEIPAY_TEST_POSTGRES_URL"])  # type: ignore[misc]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="promises to run, e.g. P1 P3 (default: all)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size (0.1 for a quick look)")
    parser.add_argument("--crash-repeats", type=int, default=3, help="P2: runs of the kill -9 suites per backend")
    parser.add_argument("--json", type=Path, help="write the figures here (e.g. docs/reliability-figures.json)")
    args = parser.parse_args()

    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table
    from tests.service.core_harness import make_core
    from tests.service.reliability import proofs
    from tests.service.reliability.test_proof_sizes import dump, xml_targets
    from tests.service.web_harness import harness_factory

    from weipay.simulator.bundle import init_bundle

    backends = ["sqlite"] + (["postgresql"] if os.environ.get("WEIPAY_TEST_POSTGRES_URL") else [])
    wanted = {p.upper() for p in args.only} if args.only else None

    def size(n: int) -> int:
        return max(1, round(n * args.scale))

    results: list[proofs.Figures] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        template = workdir / "bundle"
        init_bundle(template, mchid="1900000109")

        def with_harness(run: Callable[[Any, str], proofs.Figures]) -> Callable[[str], proofs.Figures]:
            def go(backend: str) -> proofs.Figures:
                with database(backend, workdir) as url:
                    directory = workdir / f"h{time.time_ns()}"
                    directory.mkdir()
                    # The tests' own fixture, driven by hand: its generator builds, then tears down.
                    factory = harness_factory._get_wrapped_function()(template, directory, url, None)
                    make = next(factory)
                    try:
                        return run(make(), url)
                    finally:
                        factory.close()

            return go

        def with_core(run: Callable[[Any], proofs.Figures]) -> Callable[[str], proofs.Figures]:
            def go(backend: str) -> proofs.Figures:
                with database(backend, workdir) as url:
                    core = make_core(url, template, workdir / f"c{time.time_ns()}")
                    try:
                        return run(core)
                    finally:
                        core.control.close()
                        core.sim.close()
                        core.uow.dispose()

            return go

        per_backend: dict[str, Callable[[str], proofs.Figures]] = {
            "P1": with_harness(lambda h, _: proofs.duplicate_storm(h, size(100), 100, 64)),
            "P2": lambda backend: crash_runs(backend, args.crash_repeats),
            "P3": with_harness(lambda h, _: proofs.over_refund_trials(h, size(1000))),
            "P4": with_harness(lambda h, _: proofs.forged_notifications(h, size(2000))),
            "P7": with_harness(lambda h, url: proofs.secret_canaries(h, size(20), lambda: dump(url))),
            "P9": with_core(lambda c: proofs.missed_notifications(c, size(200), size(200))),
            "P10": with_core(lambda c: proofs.unpaid_orders(c, size(200))),
        }
        once: dict[str, Callable[[], proofs.Figures]] = {
            "P6": lambda: proofs.hostile_xml(*xml_targets(), repeats=size(20)),
            "P8": lambda: proofs.outbound_bounds(template / "merchant", calls=size(200), timeout_s=2.0),
        }
        jobs: list[tuple[str, Callable[[], proofs.Figures]]] = []
        for promise in ("P1", "P2", "P3", "P4", "P6", "P7", "P8", "P9", "P10"):
            if wanted and promise not in wanted:
                continue
            if promise in once:
                jobs.append((promise, once[promise]))
            else:
                for backend in backends:
                    jobs.append((f"{promise} {backend}", lambda p=promise, b=backend: tag(per_backend[p](b), b)))
        with Progress() as progress:
            task = progress.add_task("proofs", total=len(jobs))
            for label, job in jobs:
                progress.update(task, description=label)
                started = time.monotonic()
                result = job()
                result.figures["seconds"] = round(time.monotonic() - started, 1)
                results.append(result)
                # One line per proof as it ends, so a long run's figures survive an interruption.
                progress.console.print(json.dumps({"label": label, **result.__dict__}, default=str, ensure_ascii=False))
                progress.advance(task)
    table = Table(title=f"RELIABILITY.md P1–P10, {time.strftime('%Y-%m-%d', time.gmtime())}")
    for column in ("promise", "size", "held", "figures"):
        table.add_column(column)
    for result in results:
        shown = {k: v for k, v in result.figures.items() if k not in ("per_payload",)}
        table.add_row(result.promise, result.size, "yes" if result.passed else "NO", json.dumps(shown, default=str))
    Console().print(table)
    if args.json:
        payload = {"environment": proofs.environment(), "results": json.loads(proofs.to_json(results))}
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return 0 if all(r.passed for r in results) else 1


def tag(result: Any, backend: str) -> Any:
    """Name the backend in the figure's size."""
    result.size = f"{result.size} [{backend}]"
    return result


def crash_runs(backend: str, repeats: int) -> Any:
    """P2: the kill -9 suites (3 kills mid-burst + 2 outbound kills per run) ``repeats`` times on ``backend``."""
    from tests.service.reliability.proofs import Figures

    passed = 0
    failures: list[str] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for _ in range(repeats):
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            backend,
            "tests/service/reliability/test_crash_notify.py",
            "tests/service/reliability/test_crash_outbound.py",
        ]
        run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        passed += run.returncode == 0
        if run.returncode:  # keep what failed: a red run must be explained, not just counted
            failures.append("\n".join(run.stdout.splitlines()[-30:]))
    figures = {
        "suite_runs": repeats,
        "suite_runs_green": passed,
        "kills": repeats * 5,
        "kills_converged": passed * 5,
        "lost_payments": 0 if passed == repeats else "see failing run",
    }
    return Figures(
        "P2",
        f"{repeats} runs × (3 mid-burst kills of 600 notifications + 2 outbound kills)",
        figures,
        passed == repeats,
        failures,
    )


if __name__ == "__main__":
    raise SystemExit(main())
