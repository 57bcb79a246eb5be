"""The checkout bench's processes: simulator, target (``weipay serve`` or the reference), generator, prober.

Every process is started here by its own command line and stopped by its own pid; their output goes to
log files in the cell's directory, and the tail of a log is shown when a process does not come up.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import sqlalchemy as sa

BENCH_DIR = Path(__file__).resolve().parent
START_TIMEOUT_S = 60.0  # a loaded shared machine can take a while to import FastAPI
DRAIN_TIMEOUT_S = 300.0  # in-flight checkouts finish after the window; before issue #10 they queue for long
GO_DELAY_S = 2.0  # time for the generator and prober to start before the load begins


@dataclass(frozen=True)
class Cell:
    target: str  # "weipay" or "reference"
    backend: str  # "sqlite" or "postgresql"
    latency_ms: int
    users: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def weipay_command() -> list[str]:
    """The ``weipay`` console script of this interpreter's environment (``python -c`` if there is none)."""
    script = Path(sys.executable).with_name("weipay")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from weipay.cli.main import main; main()"]


def child_environment() -> dict[str, str]:
    """This environment without ``WEIPAY_*``: the service's settings come from its file only."""
    return {name: value for name, value in os.environ.items() if not name.startswith("WEIPAY_")}


def fresh_database(backend: str, workdir: Path, label: str) -> tuple[str, Callable[[], None]]:
    """A new empty database and how to drop it."""
    workdir.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'{label}.sqlite3'}", lambda: None  # the cell's directory goes away
    admin_url = os.environ["WEIPAY_TEST_POSTGRES_URL"]
    name = f"weipay_checkout_{label}_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


class Process:
    """A child process with its output in a log file."""

    def __init__(self, name: str, command: list[str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=child_environment(), cwd=log_dir
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def wait_http(self, url: str) -> None:
        """Until ``url`` answers 200, or fail with the log's tail."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                break
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"{self.name} did not come up at {url}:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


@dataclass
class Stack:
    """A fresh simulator and one target for one cell; ``with`` starts and stops them."""

    cell: Cell
    workdir: Path
    database_url: str
    api_key: str = field(default_factory=lambda: "wpk_bench_" + secrets.token_urlsafe(18))
    processes: list[Process] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    probe_paths: list[str] = field(default_factory=list)
    probe_order_paid: bool = False
    target_pid: int = 0
    simulator_pid: int = 0
    target_url: str = ""
    simulator_url: str = ""
    account: dict[str, Any] = field(default_factory=dict)

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        for process in reversed(self.processes):
            process.stop()

    def _start(self) -> None:
        from weipay.simulator.bundle import init_bundle

        self.workdir.mkdir(parents=True, exist_ok=True)
        sim_port, sim_https_port, target_port = free_port(), free_port(), free_port()
        bundle = self.workdir / "sim"
        self.account = init_bundle(bundle, port=sim_port, https_port=sim_https_port)
        self.simulator_url = f"http://127.0.0.1:{sim_port}"
        simulator = self.spawn("simulator", [*weipay_command(), "simulator", "serve", str(bundle)])
        simulator.wait_http(self.simulator_url + "/simulator/faults")
        self.simulator_pid = simulator.pid
        self.target_url = f"http://127.0.0.1:{target_port}"
        target = self.spawn(self.cell.target, self._target_command(bundle, sim_https_port, target_port))
        target.wait_http(self.target_url + "/healthz")
        self.target_pid = target.pid
        probe_order = self._prepare_probe_order()
        self.probe_paths = ["/healthz", f"/v1/orders/{probe_order}"]
        # Only now is WeChat slowed down: the probe order was paid at full speed.
        plan = httpx.put(self.simulator_url + "/simulator/faults", json={"latency_ms": self.cell.latency_ms}).json()
        assert plan["latency_ms"] == self.cell.latency_ms, plan

    def spawn(self, name: str, command: list[str]) -> Process:
        process = Process(name, command, self.workdir)
        self.processes.append(process)
        return process

    def _target_command(self, bundle: Path, sim_https_port: int, port: int) -> list[str]:
        if self.cell.target == "reference":
            return [
                sys.executable,
                str(BENCH_DIR / "reference_checkout.py"),
                "--database-url",
                self.database_url,
                "--bundle-dir",
                str(bundle / "merchant"),
                "--simulator-url",
                self.simulator_url,
                "--api-key",
                self.api_key,
                "--port",
                str(port),
            ]
        config = self.workdir / "weipay.json"
        merchant_dir = bundle / "merchant"
        wechat = {
            "base_url": self.simulator_url,
            "https_base_url": f"https://127.0.0.1:{sim_https_port}",
            "login_base_url": self.simulator_url,
            "ca_path": str(merchant_dir / "simulator_ca.pem"),
        }
        merchant = {
            "mchid": str(self.account["mchid"]),
            "bundle_dir": str(merchant_dir),
            "api_keys": [self.api_key],
            "wechat": wechat,
        }
        settings = {"database_url": self.database_url, "public_base_url": f"http://127.0.0.1:{port}"}
        config.write_text(json.dumps(settings | {"merchants": [merchant]}))
        return [
            *weipay_command(),
            "serve",
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--migrate",
        ]

    def _prepare_probe_order(self) -> str:
        """An order for the prober to read. On the service it is paid first, so reading it never asks WeChat
        (a pending attempt older than ``notify_expected_after_s`` would be queried, by design)."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        with httpx.Client(base_url=self.target_url, headers=headers, timeout=30.0) as client:
            order = client.post(
                "/v1/orders", json={"merchant_order_no": "PROBE-1", "amount": 1, "description": "probe"}
            )
            order.raise_for_status()
            order_id = str(order.json()["id"])
            payment = client.post(f"/v1/orders/{order_id}/payments", json={"channel": "native", "api": "v3"})
            payment.raise_for_status()
            if self.cell.target == "reference":  # it has no notification handling: a started payment is its end
                return order_id
            paid = httpx.post(
                self.simulator_url + "/simulator/payments", json={"code_url": payment.json()["code_url"]}, timeout=30.0
            )
            paid.raise_for_status()
            deadline = time.monotonic() + 15.0
            while time.monotonic() < deadline:
                if client.get(f"/v1/orders/{order_id}").json()["status"] == "paid":
                    self.probe_order_paid = True
                    return order_id
                time.sleep(0.2)
        self.notes.append("the probe order was not paid within 15 s; the prober reads a pending order")
        return order_id

    def load_command(
        self, mode: str, go_at: float, warmup_s: float, max_warmup_s: float, duration_s: float
    ) -> list[str]:
        return [
            sys.executable,
            str(BENCH_DIR / "checkout_load.py"),
            mode,
            "--port",
            self.target_url.rsplit(":", 1)[1],
            "--api-key",
            self.api_key,
            "--go-at",
            repr(go_at),
            "--warmup-s",
            str(warmup_s),
            "--duration-s",
            str(duration_s),
            "--max-warmup-s",
            str(max_warmup_s),
            "--window-file",
            str(self.workdir / "window.json"),
        ]


def run_load(
    stack: Stack, warmup_s: float, max_warmup_s: float, duration_s: float, probe_rate: float
) -> tuple[dict[str, Any], Any]:
    """Start the generator and the prober at one moment; their results."""
    go_at = time.monotonic() + GO_DELAY_S
    cell = stack.cell
    generator = stack.spawn(
        "generator",
        [
            *stack.load_command("generate", go_at, warmup_s, max_warmup_s, duration_s),
            "--users",
            str(cell.users),
            "--label",
            f"C{secrets.token_hex(3)}",
            "--cpu-pids",
            f"{stack.target_pid},{stack.simulator_pid}",
        ],
    )
    prober = stack.spawn(
        "prober",
        [
            *stack.load_command("probe", go_at, warmup_s, max_warmup_s, duration_s),
            "--paths",
            ",".join(stack.probe_paths),
            "--rate",
            str(probe_rate),
        ],
    )
    deadline = go_at + max(warmup_s, max_warmup_s) + duration_s + DRAIN_TIMEOUT_S
    results = []
    for process in (generator, prober):
        try:
            process.popen.wait(max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.stop()
            raise SystemExit(f"{process.name} did not finish in time:\n{process.log_tail()}") from None
        line = next(
            (line for line in process.log_path.read_text().splitlines() if line.startswith("RESULT_JSON ")), None
        )
        if line is None:
            raise SystemExit(f"{process.name} failed:\n{process.log_tail()}")
        results.append(json.loads(line.removeprefix("RESULT_JSON ")))
    return results[0], results[1]
