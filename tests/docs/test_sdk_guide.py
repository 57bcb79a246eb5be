"""``docs/sdk.md`` stays true: its ``# runnable`` blocks run, in order, against an in-process simulator.

The guide builds its own simulator in its first block (as a reader would), so this test adds nothing
to the namespace: what the reader copies is exactly what runs. ``# illustration`` blocks (production
paths and secrets) are compiled and their ``weipay`` imports resolved. Every Python block must carry
one of the two markers, so no example escapes checking by accident.
"""

from __future__ import annotations

import ast
import importlib
import logging
import re
from pathlib import Path
from typing import Any

import guides
import pytest
from guides import Block

GUIDE = guides.ROOT / "docs" / "sdk.md"
BLOCKS = guides.python(guides.blocks(GUIDE.read_text(encoding="utf-8")))
RUNNABLE = guides.of_kind(BLOCKS, guides.RUNNABLE)
ILLUSTRATIONS = guides.of_kind(BLOCKS, guides.ILLUSTRATION)


def test_every_python_block_is_marked() -> None:
    unmarked = [f"line {block.line} ({block.section})" for block in guides.unmarked(BLOCKS)]
    assert not unmarked, f"python blocks without '# runnable' or '# illustration': {unmarked}"


def test_the_guide_covers_each_topic_with_running_code() -> None:
    expected = [
        "MerchantCredentials.from_bundle", "MerchantCredentials.from_files", "AsyncClient", "Code2Session",
        "v3.CreateOrder", "v3.QueryOrder", "v3.CloseOrder", "v3.CreateRefund", "v3.QueryRefund",
        "v3.TradeBill", "v3.FundFlowBill", "v3.DownloadBill", "client.v3_notification", "v3.parse_notification",
        "client.jsapi_params", "client.app_params", "v2.UnifiedOrder", "v2.OrderQuery", "v2.CloseOrder",
        "v2.Refund", "v2.RefundQuery", "v2.DownloadBill", "client.v2_payment_notification",
        "client.v2_refund_notification", "OutcomeUnknown", "WeChatRefused", "RetryPolicy", "weipay.sdk",
        "start_in_thread", "call_with_access_token", "MemoryTokenCache", "UploadShippingInfo", "GetShippingOrder",
        "parse_settlement_event", "client.v3_request", "v3.RawRequest", "HttpRequest", "v2.Micropay", "v2.Reverse",
        "v3.CodepayOrder", "v3.ReverseOrder", "PaymentPending", "OAuthAccessToken", "authorize_url",
    ]
    missing = guides.missing_names(RUNNABLE, expected)
    assert not missing, f"the guide's runnable code never uses {missing}"


def test_runnable_blocks_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sdk_logger = logging.getLogger("weipay.sdk")
    monkeypatch.setattr(sdk_logger, "handlers", list(sdk_logger.handlers))  # the guide adds a handler
    monkeypatch.setattr(sdk_logger, "level", sdk_logger.level)
    printed = guides.run_in_order(RUNNABLE, "docs/sdk.md", "sdk_guide", tmp_path, monkeypatch, _close, sections=True)
    assert "outcome unknown" in printed


def _close(namespace: dict[str, Any]) -> None:
    # The guide leaves its clients and simulator open for the next section; close what it opened.
    guides.close(namespace, ("client", "control", "sim"), quiet=False)


@pytest.mark.parametrize("block", ILLUSTRATIONS, ids=lambda block: f"line{block.line}")
def test_illustrations_compile_and_their_imports_exist(block: Block) -> None:
    tree = ast.parse(block.source, f"docs/sdk.md:{block.line}")
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("weipay"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module}.{alias.name} (docs/sdk.md:{block.line})"


def test_names_the_guide_mentions_exist() -> None:
    """Inline mentions like ``v3.TradeBill`` or ``client.v3_notification`` name real attributes."""
    import weipay.sdk
    from weipay.sdk import Client

    text = GUIDE.read_text(encoding="utf-8")
    owners: dict[str, Any] = {"v2": weipay.sdk.v2, "v3": weipay.sdk.v3, "client": Client}
    mentioned = set(re.findall(r"`(v2|v3|client)\.([A-Za-z_][A-Za-z0-9_]*)", text))
    assert len(mentioned) > 20
    missing = sorted(f"{owner}.{name}" for owner, name in mentioned if not hasattr(owners[owner], name))
    assert not missing, f"docs/sdk.md mentions names that do not exist: {missing}"


def test_contents_links_point_at_headings() -> None:
    guides.assert_contents_links_point_at_headings(GUIDE.read_text(encoding="utf-8"))


def test_the_coroutine_table_matches_the_clients() -> None:
    """Section 3's table says, per method, which of ``Client``/``AsyncClient`` is a coroutine: so it is."""
    import inspect

    from weipay.sdk import AsyncClient, Client

    text = GUIDE.read_text(encoding="utf-8")
    row = r"^\| `([a-z0-9_]+)`(?: / `([a-z0-9_]+)`)? \| ([a-z]+)[^|]* \| ([a-z]+)[^|]* \|"
    rows = re.findall(row, text, re.MULTILINE)
    assert len(rows) >= 8, rows
    for sync_name, async_name, on_client, on_async in rows:
        for cls, name, said in ((Client, sync_name, on_client), (AsyncClient, async_name or sync_name, on_async)):
            method = getattr(cls, name)
            actual = "coroutine" if inspect.iscoroutinefunction(method) else ("plain", "blocking")
            assert said == actual or said in actual, f"{cls.__name__}.{name}: the guide says {said}"
    documented = {name for row in rows for name in row[:2] if name}
    public = {name for cls in (Client, AsyncClient) for name in vars(cls)
              if not name.startswith("_") and callable(getattr(cls, name))}
    assert public <= documented, f"methods missing from the table: {sorted(public - documented)}"


def test_the_served_simulator_flags_exist() -> None:
    from weipay.cli.main import cli
    from weipay.simulator.state import REFUND_PROCESSING_S

    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("### A served simulator"):]
    options = guides.all_options(cli.commands["simulator"])
    flags = set(re.findall(r"`(--[a-z-]+)", section))
    assert {"--refund-processing-s", "--hang-s", "--tick-interval", "--time-scale"} <= flags <= options
    assert f"(default {REFUND_PROCESSING_S:g})" in section


def test_the_served_walkthrough_runs_against_weipay_simulator_serve(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Section 15's two commands, as a reader runs them (init gets free ports: the defaults may be taken on a
    shared machine), then its ``# served`` block from the same directory."""
    import shlex
    import socket
    import subprocess
    import sys
    import time

    import httpx

    text = GUIDE.read_text(encoding="utf-8")
    (commands,) = [b for b in guides.blocks(text) if b.lang == "bash" and "weipay simulator serve" in b.source]
    (served,) = [b for b in BLOCKS if b.kind == guides.SERVED]
    init_line, serve_line = [line for line in commands.source.splitlines() if line.strip()]
    weipay = str(Path(sys.executable).parent / "weipay")
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    init_args = [*shlex.split(init_line), "--port", str(ports[0]), "--https-port", str(ports[1])]
    subprocess.run([weipay, *init_args[1:]], cwd=tmp_path, check=True, capture_output=True, timeout=60)
    server = subprocess.Popen([weipay, *shlex.split(serve_line)[1:]], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{ports[0]}/simulator/faults", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "weipay simulator serve did not start"
                time.sleep(0.1)
        printed = guides.run_in_order([served], "docs/sdk.md", "sdk_guide_served", tmp_path, monkeypatch,
                                      lambda namespace: None)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    assert "outcome unknown: query before retrying" in printed
    assert "refunds succeed after 120 simulated s; a lost answer holds 2 s" in output
    assert "due work:          only on POST /simulator/tick" in output
