"""``docs/simulator.md`` stays true: its ``# runnable`` blocks run, in order, against a real loopback simulator.

The guide starts its own simulator on free ports (as a reader would), drives it with weipay's SDK, wechatpy and
wechatpayv3, and stops it in its last block; this test only executes the blocks and cleans up if one fails.
``bash`` blocks' ``weipay`` commands and the option tables are checked against the real click commands.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import guides
import pytest

TEXT, BLOCKS, PYTHON, RUNNABLE = guides.load("simulator.md")


def test_every_python_block_is_marked() -> None:
    unmarked = [block.line for block in guides.unmarked(BLOCKS)]
    assert not unmarked, f"python blocks without a marker at lines {unmarked}"
    assert len(RUNNABLE) >= 8


def test_the_guide_covers_each_topic_with_running_code() -> None:
    expected = ["init_bundle(", "start_in_thread(", "MerchantCredentials.from_bundle", "v3_notification",
                "API_BASE_URL", "trust_env = False", "refund.API_BASE_URL", "parse_payment_result",
                "parse_refund_notify_result", "_core._gate_way", "public_key_id=", "cert_dir=",
                "_update_certificates", "/simulator/login-codes", "/simulator/payments", "/simulator/orders",
                "/simulator/notifications", "/simulator/faults", "/simulator/payer", "SimulatorTransport(",
                "strict=True", "OutcomeUnknown", "verification=\"platform_certificate\""]
    missing = guides.missing_names(RUNNABLE, expected)
    assert not missing, f"the guide's runnable code never uses {missing}"


def test_runnable_blocks_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = guides.run_in_order(RUNNABLE, "docs/simulator.md", "simulator_guide", tmp_path, monkeypatch, _close)
    assert "outcome unknown" in out and "strict: PARAM_ERROR" in out, out


def _close(namespace: dict[str, Any]) -> None:
    # Only matters when a block failed half-way: the last block closes everything itself.
    guides.close(namespace, ("running", "cert_running"), "stop")
    guides.close(namespace, ("sim", "cert_sim", "local_sim", "strict_sim"))
    guides.close(namespace, ("endpoint",), "shutdown")


def test_documented_options_exist() -> None:
    from weipay.cli.simulator_cmd import simulator

    init, serve = simulator.commands["init"], simulator.commands["serve"]
    start = TEXT[TEXT.index("## Start it"): TEXT.index("## The bundle")]
    init_text = start[start.index("`init` options"): start.index("`serve` options")]
    serve_text = start[start.index("`serve` options"):]
    init_options, serve_options = guides.long_options(init), guides.long_options(serve)
    assert set(re.findall(r"`(--[a-z-]+)", init_text)) == init_options - {"--help", "-h"}
    assert set(re.findall(r"^\| `(--[a-z-]+)", serve_text, re.MULTILINE)) == serve_options - {"--help", "-h"}
    for block in (b for b in BLOCKS if b.lang == "bash"):
        for line in block.source.splitlines():
            words = line.split("#", 1)[0].split()
            if words[:2] == ["weipay", "simulator"]:
                assert words[2] in simulator.commands, line


def test_fault_table_matches_the_fault_plan() -> None:
    from weipay.simulator.faults import FaultPlan

    table = TEXT[TEXT.index("## Faults"): TEXT.index("## The payer page")]
    documented = set(re.findall(r"^\| `([a-z0-9_]+)`", table, re.MULTILINE))
    documented |= set(re.findall(r"`([a-z_]+_fen)`", table))
    assert documented == set(FaultPlan().to_json()) | {"unsettled_fen", "available_fen"}


def test_control_api_table_matches_the_routes() -> None:
    source = (guides.ROOT / "src/weipay/simulator/control/api.py").read_text()
    routes = set(re.findall(r'\("(GET|POST|PUT)", "(/simulator/[a-z-]+)"\)', source))
    table = TEXT[TEXT.index("## The control API"): TEXT.index("## Faults")]
    for method, path in routes:
        assert re.search(rf"{method}[^|]*`?\s*{re.escape(path)}|`{method} {re.escape(path)}`", table) or \
            f"{method} {path}" in table or f"`GET`/`PUT {path}`" in table, f"{method} {path} is not documented"


def test_contents_links_point_at_headings() -> None:
    guides.assert_contents_links_point_at_headings(TEXT)
