"""The checkout bench's load generator and prober: raw HTTP/1.1 keep-alive over asyncio streams.

Run by ``bench/checkout_bench.py`` in processes of their own (never in the server's interpreter):

- ``generate``: N virtual users, each on its own keep-alive connection, each doing checkouts back to back:
  ``POST /v1/orders`` then ``POST /v1/orders/{id}/payments`` (native, v3) with the id from the first answer.
  A checkout counts when its second answer arrives inside the measurement window; its latency runs from
  the first request's send to the second answer. A ``503`` is a deliberate refusal: counted apart, the
  user waits ``Retry-After`` (at most 1 s) and starts a new checkout.
- ``probe``: open-loop, a fixed number of ``GET`` per second on each probe path (``/healthz`` and one
  order), every probe on an idle connection of a small pool or a new one, so a slow answer never delays
  the next probe's start (no coordinated omission).

Why not httpx: its per-request cost is above the server's. Why not wrk: wrk's Lua callbacks do not say
which connection an answer came from, so a per-user chain and a two-request latency need a side table keyed
by a number the Lua script makes up and an FFI clock; here the chain is a plain loop. Requests are bytes
built once per shape; answers are parsed from the status line and ``Content-Length`` only. The process's
own CPU per request is reported, so the table shows the generator is not the bottleneck.

Both print one JSON line on stdout when done. Times are ``time.monotonic()`` (CLOCK_MONOTONIC, the same
clock in every process on the machine), so the driver passes one absolute start time to all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REQUEST_TIMEOUT_S = 120.0  # far above any expected answer: a timeout is an error worth seeing
MAX_RETRY_AFTER_S = 1.0
# uvicorn closes a keep-alive connection idle for 5 s; a probe never reuses one idle for longer than this, or
# it would count the server's routine close as an error.
REUSE_IDLE_MAX_S = 4.0


class Connection:
    """One HTTP/1.1 keep-alive connection; reopened after an error or a ``Connection: close``."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.idle_since = time.monotonic()

    async def request(self, data: bytes) -> tuple[int, bytes, bytes]:
        """Send one request's bytes; the answer's status, header block and body."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        try:
            self.writer.write(data)
            head = await self.reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            lower = head.lower()
            body = await self.reader.readexactly(_content_length(lower))
            if b"\r\nconnection: close" in lower:
                self.close()
            self.idle_since = time.monotonic()
            return status, lower, body
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _content_length(lower_head: bytes) -> int:
    start = lower_head.find(b"\r\ncontent-length:")
    if start < 0:  # neither the service nor uvicorn answers chunked to these requests; refuse to guess
        raise ValueError("answer without Content-Length")
    end = lower_head.index(b"\r\n", start + 2)
    return int(lower_head[start + 17 : end])


def _retry_after_s(lower_head: bytes) -> float:
    start = lower_head.find(b"\r\nretry-after:")
    if start < 0:
        return MAX_RETRY_AFTER_S
    end = lower_head.index(b"\r\n", start + 2)
    try:
        return min(float(lower_head[start + 14 : end]), MAX_RETRY_AFTER_S)
    except ValueError:
        return MAX_RETRY_AFTER_S


def build_request(method: str, path: str, host: str, api_key: str, body: bytes | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Authorization: Bearer {api_key}"]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (Linux ``/proc``), all threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Window:
    """The measurement window, in ``time.monotonic()`` seconds shared by every process; open until decided."""

    start: float = math.inf
    end: float = math.inf

    def holds(self, moment: float) -> bool:
        return self.start <= moment <= self.end

    def publish(self, path: Path) -> None:
        """Written once, atomically, for the prober (another process) to read."""
        draft = path.with_suffix(".draft")
        draft.write_text(json.dumps({"start": self.start, "end": self.end}))
        draft.replace(path)

    @classmethod
    def read(cls, path: Path) -> Window:
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        return cls(data["start"], data["end"])


@dataclass
class Tally:
    latencies_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    rejected_503: int = 0
    requests: int = 0
    users_cycled: set[int] = field(default_factory=set)  # users whose first checkout has ended, however


# -- the checkout generator ---------------------------------------------------------------------------------
async def _user(index: int, args: argparse.Namespace, window: Window, tally: Tally) -> None:
    host = f"{args.host}:{args.port}"
    connection = Connection(args.host, args.port)
    payment = build_request("POST", "/v1/orders/{}/payments", host, args.api_key, b'{"channel":"native","api":"v3"}')
    pay_prefix, pay_suffix = payment.split(b"{}", 1)
    number = 0
    while time.monotonic() < window.end:
        if number:
            tally.users_cycled.add(index)
        number += 1
        body = (
            f'{{"merchant_order_no":"{args.label}-{index}-{number}","amount":1,"description":"checkout bench"}}'
        ).encode()
        started = time.monotonic()
        try:
            status, head, answer = await asyncio.wait_for(
                connection.request(build_request("POST", "/v1/orders", host, args.api_key, body)), REQUEST_TIMEOUT_S
            )
            tally.requests += 1
            if status in (200, 201):
                order_id = json.loads(answer)["id"].encode()
                status, head, answer = await asyncio.wait_for(
                    connection.request(pay_prefix + order_id + pay_suffix), REQUEST_TIMEOUT_S
                )
                tally.requests += 1
                step = "payment"
            else:
                step = "order"
        except TimeoutError:  # before OSError, its base class
            tally.errors["timeout"] += 1
            continue
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            tally.errors[type(exc).__name__] += 1
            await asyncio.sleep(0.05)  # a refused connection must not spin
            continue
        if status == 503:
            tally.rejected_503 += 1
            await asyncio.sleep(_retry_after_s(head))
        elif status not in (200, 201):
            tally.errors[f"{step} {status}"] += 1
            await asyncio.sleep(0.05)
        elif window.holds(finished := time.monotonic()):
            tally.latencies_s.append(finished - started)
    connection.close()


def _cpu_now(pids: list[int]) -> list[float]:
    return [process_cpu_s(pid) for pid in pids] + [time.process_time()]


async def _open_window(args: argparse.Namespace, window: Window, tally: Tally) -> bool:
    """Start the window after ``--warmup-s`` AND once every user has ended a checkout (steady state: with
    WeChat slow, queues take longer than any fixed warm-up to fill), but no later than ``--max-warmup-s``."""
    earliest, latest = args.go_at + args.warmup_s, args.go_at + max(args.warmup_s, args.max_warmup_s)
    await asyncio.sleep(max(0.0, earliest - time.monotonic()))
    while len(tally.users_cycled) < args.users and time.monotonic() < latest:
        await asyncio.sleep(0.05)
    window.start = time.monotonic()
    window.end = window.start + args.duration_s
    window.publish(args.window_file)
    return len(tally.users_cycled) >= int(args.users)


async def generate(args: argparse.Namespace) -> dict[str, Any]:
    await asyncio.sleep(max(0.0, args.go_at - time.monotonic()))
    window, tally = Window(), Tally()
    names = [pid for pid in args.cpu_pids.split(",") if pid]
    pids = [int(pid) for pid in names]
    users = [asyncio.create_task(_user(index, args, window, tally)) for index in range(args.users)]
    steady = await _open_window(args, window, tally)
    before = _cpu_now(pids)
    await asyncio.sleep(max(0.0, window.end - time.monotonic()))
    after = _cpu_now(pids)
    await asyncio.gather(*users)
    cpu_s = [b - a for a, b in zip(before, after, strict=True)]
    return {
        "checkouts": len(tally.latencies_s), "latencies_s": sorted(tally.latencies_s), "errors": dict(tally.errors),
        "rejected_503": tally.rejected_503, "requests": tally.requests, "window_s": args.duration_s,
        "warmup_s": window.start - args.go_at, "steady": steady,
        "cpu_s": dict(zip([*names, "generator"], cpu_s, strict=True)),
    }  # fmt: skip


# -- the prober -------------------------------------------------------------------------------------------------
async def _probe_once(
    pool: list[Connection], request: bytes, args: argparse.Namespace, samples: list[tuple[float, float | str]]
) -> None:
    """One GET; its start time and latency in seconds, or the error's name."""
    while pool and time.monotonic() - pool[-1].idle_since > REUSE_IDLE_MAX_S:
        pool.pop().close()
    connection = pool.pop() if pool else Connection(args.host, args.port)
    started = time.monotonic()
    try:
        status, _, _ = await asyncio.wait_for(connection.request(request), REQUEST_TIMEOUT_S)
    except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
        samples.append((started, type(exc).__name__))
        return
    pool.append(connection)
    samples.append((started, time.monotonic() - started if status == 200 else str(status)))


async def probe(args: argparse.Namespace) -> dict[str, Any]:
    """Probe from the start of the load until the generator's window has closed; keep what started in it."""
    await asyncio.sleep(max(0.0, args.go_at - time.monotonic()))
    host = f"{args.host}:{args.port}"
    paths = args.paths.split(",")
    requests = [build_request("GET", path, host, args.api_key) for path in paths]
    pools: list[list[Connection]] = [[] for _ in paths]
    samples: list[list[tuple[float, float | str]]] = [[] for _ in paths]
    tasks: set[asyncio.Task[None]] = set()
    interval_s = 1.0 / args.rate
    give_up_at = args.go_at + max(args.warmup_s, args.max_warmup_s) + args.duration_s + 5.0
    window = Window()
    tick = time.monotonic()
    while tick < min(window.end, give_up_at):
        for request, pool, into in zip(requests, pools, samples, strict=True):
            task = asyncio.create_task(_probe_once(pool, request, args, into))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        tick += interval_s
        await asyncio.sleep(max(0.0, tick - time.monotonic()))
        if window.end == math.inf:
            window = Window.read(args.window_file)
    if tasks:
        await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT_S)
    result = {}
    for path, taken in zip(paths, samples, strict=True):
        kept = [outcome for started, outcome in taken if window.holds(started)]
        result[path] = {"latencies_s": sorted(o for o in kept if isinstance(o, float)),
                        "errors": dict(Counter(o for o in kept if isinstance(o, str)))}  # fmt: skip
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="checkout bench: load generator / prober (one process)")
    parser.add_argument("mode", choices=["generate", "probe"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--go-at", type=float, required=True, help="time.monotonic() at which load starts")
    parser.add_argument("--warmup-s", type=float, required=True)
    parser.add_argument("--duration-s", type=float, required=True)
    parser.add_argument("--max-warmup-s", type=float, default=90.0, help="open the window by then, steady or not")
    parser.add_argument("--window-file", type=Path, required=True, help="the generator writes the window here")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--label", default="B", help="merchant_order_no prefix, unique per run")
    parser.add_argument("--cpu-pids", default="", help="comma-separated pids whose CPU time the window reads")
    parser.add_argument("--paths", default="/healthz", help="probe: comma-separated paths")
    parser.add_argument("--rate", type=float, default=10.0, help="probe: GETs per second per path")
    args = parser.parse_args()
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # the service's own dependency on Linux; plain asyncio still works elsewhere
        pass
    result = asyncio.run(generate(args) if args.mode == "generate" else probe(args))
    print("RESULT_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
