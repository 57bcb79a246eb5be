"""``docs/sdk.md`` stays true: its ``# runnable`` blocks run, in order, against an in-process simulator.

The guide builds its own simulator in its first block (as a reader would), so this test adds nothing
to the namespace: what the reader copies is exactly what runs. ``# illustration`` blocks (production
paths and secrets) are compiled and their ``weipay`` imports resolved. Every Python block must carry
one of the two markers, so no example escapes checking by accident.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"
_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_MARKERS = ("# runnable", "# illustration")


@dataclass(frozen=True)
class Block:
    """One fenced Python block of the guide."""

    kind: str
    source: str
    line: int
    section: str


def _blocks(text: str) -> list[Block]:
    blocks = []
    for match in _FENCE.finditer(text):
        source = match.group(1)
        first = source.split("\n", 1)[0].strip()
        line = text.count("\n", 0, match.start()) + 1
        headings = re.findall(r"^## (.+)$", text[: match.start()], re.MULTILINE)
        blocks.append(Block(first, source, line, headings[-1] if headings else "(top)"))
    return blocks


BLOCKS = _blocks(GUIDE.read_text(encoding="utf-8"))
RUNNABLE = [block for block in BLOCKS if block.kind == "# runnable"]
ILLUSTRATIONS = [block for block in BLOCKS if block.kind == "# illustration"]


def test_every_python_block_is_marked() -> None:
    unmarked = [f"line {block.line} ({block.section})" for block in BLOCKS if block.kind not in _MARKERS]
    assert not unmarked, f"python blocks without '# runnable' or '# illustration': {unmarked}"


def test_the_guide_covers_each_topic_with_running_code() -> None:
    code = "\n".join(block.source for block in RUNNABLE)
    expected = [
        "MerchantCredentials.from_bundle", "MerchantCredentials.from_files", "AsyncClient", "Code2Session",
        "v3.CreateOrder", "v3.QueryOrder", "v3.CloseOrder", "v3.CreateRefund", "v3.QueryRefund",
        "v3.TradeBill", "v3.FundFlowBill", "v3.DownloadBill", "client.v3_notification", "v3.parse_notification",
        "client.jsapi_params", "client.app_params", "v2.UnifiedOrder", "v2.OrderQuery", "v2.CloseOrder",
        "v2.Refund", "v2.RefundQuery", "v2.DownloadBill", "client.v2_payment_notification",
        "client.v2_refund_notification", "OutcomeUnknown", "WeChatRefused", "RetryPolicy", "weipay.sdk",
        "start_in_thread",
    ]
    missing = [name for name in expected if name not in code]
    assert not missing, f"the guide's runnable code never uses {missing}"


def test_runnable_blocks_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the guide's mkdtemp() lands in tmp_path
    sdk_logger = logging.getLogger("weipay.sdk")
    monkeypatch.setattr(sdk_logger, "handlers", list(sdk_logger.handlers))  # the guide adds a handler
    monkeypatch.setattr(sdk_logger, "level", sdk_logger.level)
    namespace: dict[str, Any] = {"__name__": "sdk_guide"}
    printed = io.StringIO()
    try:
        for block in RUNNABLE:
            # Leading newlines make traceback line numbers those of docs/sdk.md itself.
            code = compile("\n" * block.line + block.source, "docs/sdk.md", "exec")
            try:
                with contextlib.redirect_stdout(printed):
                    exec(code, namespace)  # the guide is our own file, run on purpose
            except Exception as exc:
                raise AssertionError(f"docs/sdk.md block at line {block.line} ({block.section}) failed: {exc!r}"
                                     f"\n--- printed so far ---\n{printed.getvalue()}") from exc
    finally:
        _close(namespace)
    assert "outcome unknown" in printed.getvalue()


def _close(namespace: dict[str, Any]) -> None:
    # The guide leaves its clients and simulator open for the next section; close what it opened.
    for name in ("client", "control"):
        closer = getattr(namespace.get(name), "close", None)
        if callable(closer):
            closer()
    sim = namespace.get("sim")
    if sim is not None:
        sim.close()


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
    text = GUIDE.read_text(encoding="utf-8")
    # GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
    headings = re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    slugs = {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert links and set(links) <= slugs, sorted(set(links) - slugs)
