"""Checkout path: ``weipay serve`` against a FastAPI + SQLAlchemy + wechatpayv3 reference, WeChat slow or not.

A checkout is what every paying user goes through first: ``POST /v1/orders`` then
``POST /v1/orders/{id}/payments`` (native, API v3), two dependent requests per virtual user. For every cell
of the matrix (database × WeChat latency × concurrent users × target) this driver starts, each in a process
of its own:

- the simulator: ``weipay simulator serve`` on a fresh bundle, its ``latency_ms`` set through the fault plan
  (``PUT /simulator/faults``) once the probe order is paid;
- the target: ``weipay serve`` (the real command, its own settings file, a fresh database) or
  ``bench/reference_checkout.py`` under uvicorn (what a merchant would otherwise write);
- the load generator: ``bench/checkout_load.py generate``, raw HTTP/1.1 keep-alive on asyncio streams, one
  connection per user, checkouts back to back (why not httpx or wrk: see that file);
- the prober: ``bench/checkout_load.py probe``, 10 GET/s each on ``/healthz`` and one paid order, open-loop,
  measured during the same window.

The load runs ``--warmup`` seconds, then ``--duration`` seconds are measured: checkouts completed in the
window per second, p50/p99 of their latency, the target's CPU time (user + system, ``/proc/<pid>/stat``)
over the window per checkout, the probes' p99, and errors (anything but 2xx; ``503`` counted apart as a
deliberate refusal). Each cell gets a fresh simulator, a fresh database (PostgreSQL: ``CREATE DATABASE``
on the server of ``WEIPAY_TEST_POSTGRES_URL``) and fresh processes.

    .venv/bin/python bench/checkout_bench.py                          # the full matrix (PostgreSQL if the URL is set)
    .venv/bin/python bench/checkout_bench.py --backends sqlite --latency-ms 2000 --users 256 --json out.json
    .venv/bin/python bench/checkout_bench.py --quick                  # 3-second sanity run: sqlite, 0 ms, 16 users
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import secrets
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from checkout_processes import Cell, Stack, fresh_database, run_load

TARGETS = ("weipay", "reference")


@dataclass
class Row:
    """One cell's figures (times in ms, CPU in ms per checkout)."""

    target: str
    backend: str
    latency_ms: int
    users: int
    checkouts: int
    checkouts_per_s: float
    p50_ms: float
    p99_ms: float
    service_cpu_ms_per_checkout: float
    simulator_cpu_ms_per_checkout: float
    generator_cpu_us_per_request: float
    get_order_p99_ms: float
    get_order_probes: int
    healthz_p99_ms: float
    healthz_probes: int
    errors: dict[str, int]
    probe_errors: dict[str, int]
    rejected_503: int
    probe_order_paid: bool
    warmup_s: float
    loadavg_1m: float
    notes: list[str] = field(default_factory=list)

    @property
    def unexpected_errors(self) -> int:
        return sum(self.errors.values()) + sum(self.probe_errors.values())


def percentile_ms(sorted_s: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list of seconds, in ms; NaN when empty."""
    if not sorted_s:
        return float("nan")
    rank = max(0, min(len(sorted_s) - 1, int(fraction * len(sorted_s) + 0.999999) - 1))
    return sorted_s[rank] * 1000


def measure(cell: Cell, args: argparse.Namespace, workdir: Path) -> Row:
    loadavg = os.getloadavg()[0]
    database_url, drop = fresh_database(cell.backend, workdir, cell.target)
    try:
        with Stack(cell, workdir, database_url) as stack:
            load, probes = run_load(stack, args.warmup, args.max_warmup, args.duration, args.probe_rate)
    finally:
        drop()
    checkouts = load["checkouts"]
    per_checkout = checkouts or math.nan  # no checkout in the window: no cost per checkout to show
    if not load["steady"]:
        stack.notes.append(f"not every user had ended a checkout after {load['warmup_s']:.0f} s; measured anyway")
    cpu = load["cpu_s"]
    order_probes = probes[stack.probe_paths[1]]
    health_probes = probes[stack.probe_paths[0]]
    probe_errors = {
        f"{path} {kind}": count for path, result in probes.items() for kind, count in result["errors"].items()
    }
    return Row(
        target=cell.target, backend=cell.backend, latency_ms=cell.latency_ms, users=cell.users, checkouts=checkouts,
        checkouts_per_s=checkouts / load["window_s"], p50_ms=percentile_ms(load["latencies_s"], 0.50),
        p99_ms=percentile_ms(load["latencies_s"], 0.99),
        service_cpu_ms_per_checkout=cpu[str(stack.target_pid)] / per_checkout * 1000,
        simulator_cpu_ms_per_checkout=cpu[str(stack.simulator_pid)] / per_checkout * 1000,
        generator_cpu_us_per_request=cpu["generator"] / (2 * per_checkout) * 1e6,
        get_order_p99_ms=percentile_ms(order_probes["latencies_s"], 0.99),
        get_order_probes=len(order_probes["latencies_s"]),
        healthz_p99_ms=percentile_ms(health_probes["latencies_s"], 0.99),
        healthz_probes=len(health_probes["latencies_s"]),
        errors=load["errors"], probe_errors=probe_errors, rejected_503=load["rejected_503"],
        probe_order_paid=stack.probe_order_paid, warmup_s=load["warmup_s"], loadavg_1m=loadavg, notes=stack.notes,
    )  # fmt: skip


def matrix(args: argparse.Namespace) -> list[Cell]:
    return [
        Cell(target, backend, latency_ms, users)
        for backend in args.backends
        for latency_ms in args.latency_ms
        for users in args.users
        for target in args.targets
    ]


def reference_for(row: Row, rows: list[Row]) -> Row | None:
    return next(
        (
            r
            for r in rows
            if r.target == "reference"
            and (r.backend, r.latency_ms, r.users) == (row.backend, row.latency_ms, row.users)
        ),
        None,
    )


def print_table(rows: list[Row], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name in (
        "target",
        "db",
        "WeChat ms",
        "users",
        "checkouts/s",
        "× ref",
        "p50 ms",
        "p99 ms",
        "svc CPU ms/checkout",
        "GET order p99 ms",
        "healthz p99 ms",
        "errors",
        "503",
        "warm-up s",
        "load 1m",
    ):
        table.add_column(name, justify="left" if name in ("target", "db") else "right")
    for row in rows:
        reference = reference_for(row, rows) if row.target != "reference" else None
        ratio = f"{row.checkouts_per_s / reference.checkouts_per_s:.2f}" if reference and reference.checkouts else ""
        table.add_row(
            row.target,
            row.backend,
            str(row.latency_ms),
            str(row.users),
            f"{row.checkouts_per_s:,.1f}",
            ratio,
            f"{row.p50_ms:,.0f}",
            f"{row.p99_ms:,.0f}",
            f"{row.service_cpu_ms_per_checkout:.2f}",
            f"{row.get_order_p99_ms:,.0f}",
            f"{row.healthz_p99_ms:,.0f}",
            str(row.unexpected_errors),
            str(row.rejected_503),
            f"{row.warmup_s:.0f}",
            f"{row.loadavg_1m:.1f}",
        )
    Console(width=200).print(table)
    for row in rows:
        for note in row.notes + [f"errors: {row.errors} {row.probe_errors}"] * bool(row.unexpected_errors):
            print(f"  {row.target}/{row.backend}/{row.latency_ms} ms/{row.users}: {note}")


def assess(rows: list[Row]) -> list[str]:
    """Issue #10's targets, each met or missed by how much (only for the cells that were run)."""
    lines = []
    for row in (r for r in rows if r.target == "weipay"):
        cell = f"{row.backend} {row.latency_ms} ms {row.users} users"
        checks: list[tuple[str, float, float, bool]] = []  # (what, measured, target, higher is better)
        if row.latency_ms == 0:
            checks.append(("CPU ms/checkout", row.service_cpu_ms_per_checkout, 3.0, False))
        if row.latency_ms == 2000 and row.users == 256:
            checks += [
                ("checkouts/s", row.checkouts_per_s, 100.0, True),
                ("GET order p99 ms", row.get_order_p99_ms, 50.0, False),
                ("healthz p99 ms", row.healthz_p99_ms, 50.0, False),
            ]
        reference = reference_for(row, rows)
        if reference is not None and reference.checkouts:
            checks.append(("× reference", row.checkouts_per_s / reference.checkouts_per_s, 2.0, True))
        checks.append(("unexpected errors", row.unexpected_errors, 0, False))
        for what, measured, target, higher in checks:
            met = measured >= target if higher else measured <= target
            lines.append(
                f"  {cell}: {what} {measured:,.2f} (target {'≥' if higher else '≤'} {target:g}) "
                f"{'met' if met else 'MISSED'}"
            )
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--backends",
        nargs="+",
        choices=["sqlite", "postgresql"],
        help="default: sqlite, and postgresql when WEIPAY_TEST_POSTGRES_URL is set",
    )
    parser.add_argument("--latency-ms", nargs="+", type=int, help="WeChat's added latency (default: 0 2000)")
    parser.add_argument("--users", nargs="+", type=int, help="concurrent virtual users (default: 16 64 256)")
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--duration", type=float, help="measured seconds per cell (default 10; --quick 3)")
    parser.add_argument("--warmup", type=float, help="least seconds of load before the window (default 3; --quick 1)")
    parser.add_argument(
        "--max-warmup",
        type=float,
        default=90.0,
        help="the window opens once every user has ended a checkout (steady state), but no later than this",
    )
    parser.add_argument("--probe-rate", type=float, default=10.0, help="GETs per second on each probe path")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a 3-second sanity run; dimensions not given default to sqlite, 0 ms, 16 users",
    )
    parser.add_argument("--json", type=Path, help="also write the rows and the machine's state here")
    args = parser.parse_args(argv)
    has_postgres = bool(os.environ.get("WEIPAY_TEST_POSTGRES_URL"))
    if args.quick:
        args.backends = args.backends or ["sqlite"]
        args.latency_ms = args.latency_ms or [0]
        args.users = args.users or [16]
    args.backends = args.backends or (["sqlite"] + ["postgresql"] * has_postgres)
    args.latency_ms = args.latency_ms or [0, 2000]
    args.users = args.users or [16, 64, 256]
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 3.0)
    if "postgresql" in args.backends and not has_postgres:
        parser.error("postgresql needs WEIPAY_TEST_POSTGRES_URL (a server where the bench may CREATE DATABASE)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cells = matrix(args)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    load_at_start = os.getloadavg()
    machine: dict[str, object] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "httpx": httpx.__version__,
        "loadavg_at_start": load_at_start,
        "started": started,
    }
    print(
        f"{len(cells)} cells, {args.warmup:g} s warm-up + {args.duration:g} s measured each; "
        f"{machine['cpus']} CPUs, load average {' '.join(f'{x:.1f}' for x in load_at_start)}",
        flush=True,
    )
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="checkout-bench-") as tmp:
        for index, cell in enumerate(cells, 1):
            row = measure(cell, args, Path(tmp) / f"cell{index}-{secrets.token_hex(2)}")
            rows.append(row)
            print(
                f"[{index}/{len(cells)}] {cell.target} {cell.backend} {cell.latency_ms} ms {cell.users} users: "
                f"{row.checkouts_per_s:,.1f} checkouts/s, p99 {row.p99_ms:,.0f} ms, "
                f"CPU {row.service_cpu_ms_per_checkout:.2f} ms/checkout, GET order p99 {row.get_order_p99_ms:,.0f}"
                f" ms, healthz p99 {row.healthz_p99_ms:,.0f} ms, errors {row.unexpected_errors}, "
                f"503 {row.rejected_503}, generator {row.generator_cpu_us_per_request:.0f} µs/request",
                flush=True,
            )
    load_at_end = machine["loadavg_at_end"] = os.getloadavg()
    print_table(
        rows,
        f"checkout bench, {started}, {args.duration:g} s per cell, load average "
        f"{load_at_start[0]:.1f} → {load_at_end[0]:.1f} "
        f"on {machine['cpus']} CPUs",
    )
    verdicts = assess(rows)
    print("targets (issue #10):\n" + "\n".join(verdicts))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine,
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "rows": [asdict(r) | {"unexpected_errors": r.unexpected_errors} for r in rows],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
