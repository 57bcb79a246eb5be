"""Run the simulator on real sockets: uvicorn on the HTTP port, and on the HTTPS port with client certificates.

The HTTPS listener requires a client certificate signed by the simulator CA (``ssl.CERT_REQUIRED``), so
``/secapi/…`` (v2 refunds) works only there, as on WeChat. :func:`start_in_thread` runs both in a
background thread on free ports for tests.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from .asgi import create_app
from .core import Simulator

__all__ = ["RunningSimulator", "bind", "build_servers", "serve", "start_in_thread"]


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (``port=0`` picks a free one), with Nagle's algorithm off.

    ``proto=IPPROTO_TCP`` matters: asyncio sets ``TCP_NODELAY`` on accepted connections only when the
    socket says it is TCP, and a socket made with ``proto=0`` does not. Without it every keep-alive
    answer after the first waits ~40 ms for the client's delayed ACK.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # Linux: inherited by accepted sockets
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _bind_pair(host: str, port: int, https_port: int | None) -> tuple[socket.socket, socket.socket | None]:
    http_sock = bind(host, port)
    if https_port is None:
        return http_sock, None
    try:
        return http_sock, bind(host, https_port)
    except OSError:
        http_sock.close()
        raise


def _public_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - displaying, not binding


def build_servers(sim: Simulator, http_sock: socket.socket, https_sock: socket.socket | None, *,
                  log_level: str = "warning", tick_interval_s: float | None = 0.1) -> list[uvicorn.Server]:
    """uvicorn servers for the HTTP socket and (optionally) the mutual-TLS HTTPS socket.

    The HTTP server runs due work every ``tick_interval_s`` real seconds; None: only on ``POST /simulator/tick``.
    """
    # timeout_graceful_shutdown: keep-alive clients (requests sessions) must not hold a shutdown for long.
    # date_header=False: the simulator stamps its own Date (its clock, skew included), as WeChat's servers do.
    app = create_app(sim, mtls=False, run_ticks=tick_interval_s is not None, tick_interval_s=tick_interval_s or 0.1)
    http_config = uvicorn.Config(app, log_level=log_level, lifespan="on", access_log=False,
                                 timeout_graceful_shutdown=1, date_header=False)
    servers = [uvicorn.Server(http_config)]
    if https_sock is not None:
        https_config = uvicorn.Config(
            create_app(sim, mtls=True, run_ticks=False), log_level=log_level, lifespan="on", access_log=False,
            timeout_graceful_shutdown=1, date_header=False, ssl_keyfile=str(sim.paths.https_key),
            ssl_certfile=str(sim.paths.https_cert),
            ssl_ca_certs=str(sim.paths.ca_cert), ssl_cert_reqs=ssl.CERT_REQUIRED,
        )
        servers.append(uvicorn.Server(https_config))
    return servers


async def _serve_all(servers: list[uvicorn.Server], sockets: list[socket.socket]) -> None:
    tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in zip(servers, sockets, strict=True)]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)


def _point_at(sim: Simulator, host: str, http_sock: socket.socket, https_sock: socket.socket | None) -> None:
    public = _public_host(host)
    sim.base_url = f"http://{public}:{http_sock.getsockname()[1]}"
    if https_sock is not None:
        sim.https_base_url = f"https://{public}:{https_sock.getsockname()[1]}"


def serve(directory: Path, *, host: str = "127.0.0.1", port: int | None = None, https_port: int | None = None,
          time_scale: float = 1.0, strict: bool = False, seed: int = 0, echo: Callable[[str], None] = print,
          refund_processing_s: float | None = None, hang_s: float | None = None,
          tick_interval_s: float | None = 0.1) -> None:
    """Serve the bundle in ``directory`` until interrupted (``weipay simulator serve``).

    ``refund_processing_s`` (simulated seconds a refund stays PROCESSING) and ``hang_s`` (real seconds a lost
    answer holds the line) set the simulator's attributes of those names; ``tick_interval_s`` is as for
    :func:`build_servers`.
    """
    sim = Simulator(directory, time_scale=time_scale, strict=strict, seed=seed)
    if refund_processing_s is not None:
        sim.refund_processing_s = refund_processing_s
    if hang_s is not None:
        sim.hang_s = hang_s
    port = port if port is not None else int(sim.base_url.rsplit(":", 1)[1])
    https_port = https_port if https_port is not None else int(sim.https_base_url.rsplit(":", 1)[1])
    try:
        http_sock, https_sock = _bind_pair(host, port, https_port)
    except OSError:
        sim.close()
        raise
    _point_at(sim, host, http_sock, https_sock)
    echo(f"WeChat Pay simulator for merchant {sim.mchid} ({sim.account['verification']}), "
         f"time x{time_scale:g}{', strict' if strict else ''}")
    echo(f"  API v2/v3, login:  {sim.base_url}")
    echo(f"  /secapi/ (mTLS):   {sim.https_base_url}  (client cert: merchant/apiclient_cert.pem, "
         "CA: merchant/simulator_ca.pem)")
    echo(f"  payer page:        {sim.base_url}/simulator/payer")
    echo(f"  control API:       {sim.base_url}/simulator/  (login-codes, payments, notifications, faults)")
    echo(f"  SDK credentials:   MerchantCredentials.from_bundle(Path({str(directory / 'merchant')!r}))")
    ticks = f"every {tick_interval_s:g} s" if tick_interval_s is not None else "only on POST /simulator/tick"
    echo(f"  due work:          {ticks}; refunds succeed after {sim.refund_processing_s:g} simulated s; "
         f"a lost answer holds {sim.hang_s:g} s")
    if (port, https_port) != (int(sim.account["base_url"].rsplit(":", 1)[1]),
                              int(sim.account["https_base_url"].rsplit(":", 1)[1])):
        echo("  note: ports differ from account.json; point your SDK at the URLs above")
    servers = build_servers(sim, http_sock, https_sock, log_level="info", tick_interval_s=tick_interval_s)
    try:
        asyncio.run(_serve_all(servers, [sock for sock in (http_sock, https_sock) if sock is not None]))
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()


@dataclass
class RunningSimulator:
    """A simulator served from a background thread (tests, the demo)."""

    sim: Simulator
    base_url: str
    https_base_url: str | None
    _servers: list[uvicorn.Server] = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the servers and wait for the thread."""
        for server in self._servers:
            server.should_exit = True
        self._thread.join(timeout_s)

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(sim: Simulator, *, host: str = "127.0.0.1", port: int = 0, https_port: int | None = 0,
                    startup_timeout_s: float = 5.0) -> RunningSimulator:
    """Serve ``sim`` on ``host`` (free ports by default) from a daemon thread; ``https_port=None``: HTTP only."""
    http_sock, https_sock = _bind_pair(host, port, https_port)
    _point_at(sim, host, http_sock, https_sock)
    servers = build_servers(sim, http_sock, https_sock)
    sockets = [http_sock] + ([https_sock] if https_sock is not None else [])
    thread = threading.Thread(target=lambda: asyncio.run(_serve_all(servers, sockets)), daemon=True,
                              name="weipay-simulator")
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not all(server.started for server in servers):
        if time.monotonic() > deadline or not thread.is_alive():
            for server in servers:
                server.should_exit = True
            raise RuntimeError("the simulator server did not start")
        time.sleep(0.01)
    return RunningSimulator(sim, sim.base_url, sim.https_base_url if https_sock is not None else None, servers,
                            thread)
