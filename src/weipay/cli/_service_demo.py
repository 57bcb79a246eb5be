"""The demo stack (simulator + service + worker in one process) and the scripted end-to-end walk.

Everything talks over loopback HTTP, exactly as separate processes would: the service calls the
simulator's HTTP and HTTPS (mutual TLS) ports, the simulator delivers notifications to the service's
notify URL, and the script is just an HTTP client of both.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

__all__ = ["DemoError", "DemoStack", "ThreadedServer", "run_script"]

_API_KEY_FILE = "service_api_key.txt"
_ADMIN_KEY_FILE = "console_api_key.txt"


class DemoError(Exception):
    """The demo could not start or a scripted step failed; the message says which and why."""


def free_port(host: str) -> int:
    """A port the OS says is free right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ThreadedServer:
    """One uvicorn server in a daemon thread (signals stay with the main thread)."""

    def __init__(self, app: Any, host: str, port: int, **ssl_options: Any) -> None:
        import uvicorn

        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", **ssl_options)
        self.server = uvicorn.Server(config)
        self.host, self.port = host, port
        self._thread = threading.Thread(target=self.server.run, name=f"uvicorn-{port}", daemon=True)

    def start(self, timeout_s: float = 10.0) -> None:
        """Start and wait until the socket listens."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise DemoError(f"server on {self.host}:{self.port} did not start (port in use?)")
            time.sleep(0.01)

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for it."""
        self.server.should_exit = True
        self._thread.join(timeout=5)


class DemoStack:
    """Bundle, simulator (HTTP + HTTPS), service and worker, started together."""

    def __init__(
        self,
        directory: Path,
        host: str,
        port: int,
        simulator_port: int,
        simulator_https_port: int,
        time_scale: float,
        database_url: str | None = None,
        merchant: Mapping[str, Any] | None = None,
    ) -> None:
        """``merchant``: settings of the demo merchant to add or override (tests: refund approval, a webhook URL)."""
        self.directory = Path(directory).resolve()
        self.merchant_overrides = dict(merchant or {})
        self.database_url = database_url or f"sqlite:///{self.directory / 'service.sqlite3'}"
        self.host = host
        self.port = port or free_port(host)
        self.simulator_port = simulator_port or free_port(host)
        self.simulator_https_port = simulator_https_port or free_port(host)
        self.time_scale = time_scale
        self._servers: list[ThreadedServer] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.api_key = ""
        self.admin_key = ""
        self.simulator: Any = None
        self._running_simulator: Any = None
        self.services: Any = None
        self._app: Any = None

    @property
    def service_url(self) -> str:
        """Base URL of the payment service."""
        return f"http://{self.host}:{self.port}"

    @property
    def simulator_url(self) -> str:
        """Base URL of the simulator's plain HTTP port."""
        return f"http://{self.host}:{self.simulator_port}"

    def start(self) -> None:
        """Create what is missing, then start every part."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._ensure_bundle()
        self.api_key = self._secret_file(_API_KEY_FILE)
        self.admin_key = self._secret_file(_ADMIN_KEY_FILE)
        self._start_simulator()
        self._start_service()

    def stop(self) -> None:
        """Stop threads and servers, close databases."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for server in reversed(self._servers):
            server.stop()
        if self._running_simulator is not None:
            self._running_simulator.stop()
        if self._app is not None:
            self._app.state.api.close()  # the notification writer, then the service's collaborators
        if self.simulator is not None:
            self.simulator.close()

    def _ensure_bundle(self) -> None:
        from weipay.simulator.bundle import init_bundle

        if not (self.directory / "merchant" / "account.json").exists():
            init_bundle(self.directory, port=self.simulator_port, https_port=self.simulator_https_port)

    def _secret_file(self, name: str) -> str:
        path = self.directory / name
        if path.exists():
            return path.read_text().strip()
        value = "wpk_" + secrets.token_urlsafe(24)
        path.write_text(value + "\n")
        path.chmod(0o600)
        return value

    def _start_simulator(self) -> None:
        from weipay.simulator import Simulator
        from weipay.simulator.server import start_in_thread

        self.simulator = Simulator(self.directory, time_scale=self.time_scale)
        try:
            self._running_simulator = start_in_thread(
                self.simulator, host=self.host, port=self.simulator_port, https_port=self.simulator_https_port
            )
        except (OSError, RuntimeError) as exc:
            raise DemoError(f"the simulator could not listen on ports {self.simulator_port}/"
                            f"{self.simulator_https_port}: {exc}") from None

    def _start_service(self) -> None:
        from weipay.service.api import create_app
        from weipay.service.bootstrap import build_services
        from weipay.service.db.migrate import upgrade
        from weipay.service.settings import load_settings

        database_url = self.database_url
        upgrade(database_url)
        merchant_dir = self.directory / "merchant"
        account = json.loads((merchant_dir / "account.json").read_text())
        settings = load_settings(
            environ={},
            overrides={
                "database_url": database_url,
                "public_base_url": self.service_url,
                "admin": {"api_keys": [self.admin_key]},
                "merchants": [
                    {
                        "mchid": str(account["mchid"]),
                        "display_name": "weipay 演示商户",
                        "bundle_dir": str(merchant_dir),
                        "api_keys": [self.api_key],
                        "wechat": {
                            "base_url": self.simulator_url,
                            "https_base_url": f"https://{self.host}:{self.simulator_https_port}",
                            "login_base_url": self.simulator_url,
                            "ca_path": str(merchant_dir / "simulator_ca.pem"),
                        },
                        **self.merchant_overrides,
                    }
                ],
            },
        )
        # One clock for both: the simulator signs notifications with its (possibly scaled, persisted) time,
        # and the service checks them against the same time, whatever --time-scale says.
        self.services = build_services(settings, clock=self.simulator.now)
        self._app = create_app(settings, services=self.services)
        self._add_server(ThreadedServer(self._app, self.host, self.port))
        self._spawn(self._worker, "service-worker")

    def _add_server(self, server: ThreadedServer) -> None:
        server.start()
        self._servers.append(server)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _worker(self) -> None:
        from weipay.service.jobs import poll_loop

        def on_error(exc: Exception) -> None:  # keep the worker alive; the job row keeps its error
            print(f"worker: {type(exc).__name__}: {exc}")

        poll_loop(self.services.run_due_jobs, stop=self._stop, poll_s=0.1, on_error=on_error)

    def banner(self) -> str:
        """What to open and what to run."""
        curl = (
            f"curl -s -X POST {self.service_url}/v1/orders -H 'Authorization: Bearer {self.api_key}' "
            "-H 'Content-Type: application/json' "
            '-d \'{"merchant_order_no": "DEMO-1", "amount": 1999, "description": "Weipay mug"}\''
        )
        return "\n".join(
            [
                f"weipay demo running (data in {self.directory})",
                f"  service         {self.service_url}",
                f"  OpenAPI docs    {self.service_url}/docs   (schema: {self.service_url}/openapi.json)",
                f"  console         {self.service_url}/console   (admin key: {self.admin_key})",
                f"  simulator       {self.simulator_url}   payer page: {self.simulator_url}/simulator/payer",
                f"  merchant API key  {self.api_key}",
                "",
                "Try:",
                f"  {curl}",
                "",
                "Ctrl-C stops everything.",
            ]
        )


def run_script(stack: DemoStack, *, echo: Callable[[str], None], timeout_s: float = 30.0) -> bool:
    """Order -> mini-program payment -> paid (by notification) -> refund -> refunded. True on success."""
    walk = _Walk(stack, echo, timeout_s)
    try:
        walk.run()
    except DemoError as exc:
        echo(f"FAILED: {exc}")
        return False
    finally:
        walk.close()
    echo("OK: order paid by notification and refunded")
    return True


class _Walk:
    def __init__(self, stack: DemoStack, echo: Callable[[str], None], timeout_s: float) -> None:
        self.stack = stack
        self.echo = echo
        self.timeout_s = timeout_s
        self.http = httpx.Client(timeout=10.0)
        self.merchant = {"Authorization": f"Bearer {stack.api_key}"}
        self.account = json.loads((stack.directory / "merchant" / "account.json").read_text())

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, url: str, expect: int, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise DemoError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
        if response.status_code != expect:
            got = f"{response.status_code}: {response.text[:300]}"
            raise DemoError(f"{method} {url}: expected HTTP {expect}, got {got}")
        return response.json() if response.content else {}

    def step(self, text: str) -> None:
        self.echo(f"- {text}")

    def wait_for(
        self, what: str, url: str, headers: dict[str, str], done: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        while True:
            body = self.call("GET", url, 200, headers=headers)
            if done(body):
                return body
            if time.monotonic() > deadline:
                last = json.dumps(body)[:300]
                raise DemoError(f"timed out after {self.timeout_s:g} s waiting for {what}; last: {last}")
            time.sleep(0.1)

    def run(self) -> None:
        service, simulator = self.stack.service_url, self.stack.simulator_url
        appid = self.account["appids"]["miniprogram"]
        self.step(f"service {service}, simulator {simulator}")
        self.call("GET", f"{service}/healthz", 200)

        code = self.call("POST", f"{simulator}/simulator/login-codes", 200, json={"appid": appid, "user": "demo-user"})
        login = self.call("POST", f"{service}/v1/login", 200, json={"appid": appid, "code": code["code"]})
        user = {"Authorization": f"Bearer {login['token']}"}
        self.step(f"mini-program user logged in: openid {login['openid']}")

        order_no = f"DEMO-{secrets.token_hex(4)}"
        order = self.call(
            "POST", f"{service}/v1/orders", 201, headers=self.merchant,
            json={"merchant_order_no": order_no, "amount": 1999, "description": "Weipay mug",
                  "payer_openid": login["openid"]},
        )
        self.step(f"order {order['id']} created for 1999 fen ({order['status']})")

        payment = self.call("POST", f"{service}/v1/orders/{order['id']}/payments", 201, headers=user,
                            json={"channel": "miniprogram"})
        params = payment.get("request_payment") or {}
        if not str(params.get("package", "")).startswith("prepay_id="):
            raise DemoError(f"no wx.requestPayment object in {json.dumps(payment)[:300]}")
        self.step(f"payment attempt {payment['out_trade_no']} started; wx.requestPayment package {params['package']}")

        prepay_id = params["package"].removeprefix("prepay_id=")
        paid = self.call("POST", f"{simulator}/simulator/payments", 200,
                         json={"prepay_id": prepay_id, "openid": login["openid"], "outcome": "success"})
        self.step(f"payer paid at the simulator: transaction {paid.get('transaction_id')}")

        order = self.wait_for("the payment notification", f"{service}/v1/orders/{order['id']}", self.merchant,
                              lambda body: body["status"] == "paid")
        self.step(f"order {order['id']} is paid (notification applied)")

        refund = self.call("POST", f"{service}/v1/orders/{order['id']}/refunds", 201, headers=self.merchant,
                           json={"merchant_refund_no": f"RF-{order_no}", "amount": 1999, "reason": "demo"})
        self.step(f"refund {refund['id']} requested ({refund['status']})")
        refund = self.wait_for("the refund to succeed", f"{service}/v1/refunds/{refund['id']}", self.merchant,
                               lambda body: body["status"] in ("succeeded", "failed"))
        if refund["status"] != "succeeded":
            raise DemoError(f"refund ended {refund['status']}")
        order = self.call("GET", f"{service}/v1/orders/{order['id']}", 200, headers=self.merchant)
        self.step(f"refund succeeded; order is {order['status']}")
        if order["status"] != "refunded":
            raise DemoError(f"order should be refunded, is {order['status']}")
