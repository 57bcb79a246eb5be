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
        "parse_settlement_event",
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
