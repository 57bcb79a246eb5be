"""Real sockets: the HTTPS port demands the merchant's client certificate; the async transport; ``serve``."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from weipay.simulator.core import Simulator
from weipay.simulator.server import start_in_thread
from weipay.simulator.transport import SimulatorTransport

from .conftest import BASE_URL


def test_https_port_requires_the_client_certificate(bundle_dir: Path) -> None:
    merchant = bundle_dir / "merchant"
    sim = Simulator(bundle_dir)
    server = start_in_thread(sim)
    try:
        assert server.https_base_url is not None
        with_cert = ssl.create_default_context(cafile=str(merchant / "simulator_ca.pem"))
        with_cert.load_cert_chain(str(merchant / "apiclient_cert.pem"), str(merchant / "apiclient_key.pem"))
        response = httpx.post(f"{server.https_base_url}/secapi/pay/refund", content=b"<xml></xml>", verify=with_cert)
        assert response.status_code == 200 and b"<return_code>" in response.content  # reached API v2
        without_cert = ssl.create_default_context(cafile=str(merchant / "simulator_ca.pem"))
        with pytest.raises(httpx.HTTPError):
            httpx.post(f"{server.https_base_url}/secapi/pay/refund", content=b"<xml></xml>", verify=without_cert)
        plain = httpx.post(f"{server.base_url}/secapi/pay/refund", content=b"<xml></xml>")
        assert plain.status_code == 403 and "client certificate" in plain.text
        # The HTTPS port serves the other APIs too, and the control API.
        faults = httpx.get(f"{server.https_base_url}/simulator/faults", verify=with_cert)
        assert faults.status_code == 200
    finally:
        server.stop()
        sim.close()


def test_async_transport(sim: Simulator) -> None:
    async def run() -> tuple[int, int]:
        async with httpx.AsyncClient(transport=SimulatorTransport(sim)) as client:
            minted = await client.post(f"{BASE_URL}/simulator/login-codes", json={})
            unsigned = await client.get(f"{BASE_URL}/v3/certificates")
            return minted.status_code, unsigned.status_code

    assert asyncio.run(run()) == (200, 401)


def test_serve_command_prints_urls_and_serves(bundle_dir: Path) -> None:
    code = "from weipay.cli.simulator_cmd import simulator; simulator()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "serve", str(bundle_dir), "--port", "0", "--https-port", "0",
         "--time-scale", "10"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 10
        while not any("payer page" in line for line in lines):
            assert time.monotonic() < deadline and process.poll() is None, lines
            lines.append(process.stdout.readline())
        output = "".join(lines)
        base_url = re.search(r"API v2/v3, login:\s+(http://127\.0\.0\.1:\d+)", output)
        assert base_url is not None, output
        assert "/simulator/payer" in output and "https://127.0.0.1:" in output
        for _ in range(100):
            try:
                response = httpx.get(f"{base_url.group(1)}/simulator/faults")
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_serve_refuses_a_directory_without_a_bundle_and_a_busy_port(tmp_path: Path, bundle_dir: Path) -> None:
    from click.testing import CliRunner

    from weipay.cli.simulator_cmd import simulator
    from weipay.simulator.server import bind

    runner = CliRunner()
    empty = runner.invoke(simulator, ["serve", str(tmp_path)])
    assert empty.exit_code != 0 and "weipay simulator init" in empty.output and "Traceback" not in empty.output
    busy = bind("127.0.0.1", 0)
    try:
        port = str(busy.getsockname()[1])
        result = runner.invoke(simulator, ["serve", str(bundle_dir), "--port", port, "--https-port", "0"])
        assert result.exit_code != 0 and "cannot listen" in result.output
    finally:
        busy.close()


def test_oversized_bodies_are_refused(bundle_dir: Path) -> None:
    sim = Simulator(bundle_dir)
    server = start_in_thread(sim, https_port=None)
    try:
        response = httpx.post(f"{server.base_url}/v3/pay/transactions/native", content=b"x" * (1024 * 1024 + 1))
        assert response.status_code == 413
    finally:
        server.stop()
        sim.close()


@pytest.mark.parametrize("loop_factory", ["asyncio", "uvloop"])
def test_accepted_connections_have_nagle_off(loop_factory: str) -> None:
    """Every keep-alive answer after the first was ~40 ms late (Nagle + delayed ACK) until ``bind`` said TCP."""
    from weipay.simulator.server import bind

    async def accepted_nodelay() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=bind("127.0.0.1", 0))
        port = server.sockets[0].getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        value = await asyncio.wait_for(seen, 5)
        writer.close()
        server.close()
        return value

    if loop_factory == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        assert uvloop.run(accepted_nodelay()) != 0
    else:
        assert asyncio.run(accepted_nodelay()) != 0
