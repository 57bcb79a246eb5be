"""``weipay serve`` in a process of its own, for the crash tests: started from a config file, killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

__all__ = ["Server", "free_port"]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """The real service process (no shutdown code runs when it is killed: that is the point)."""

    def __init__(self, config: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        command = [str(Path(sys.executable).with_name("weipay")), "serve", "--config", str(config),
                   "--port", str(self.port), "--no-migrate"]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.kill()
        raise AssertionError("weipay serve did not start")

    def kill(self) -> None:
        """``kill -9`` (nothing to do if it is dead already)."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
