"""``docs/simulator.md`` stays true: its ``# runnable`` blocks run, in order, against a real loopback simulator.

The guide starts its own simulator on free ports (as a reader would), drives it with weipay's SDK, wechatpy and
wechatpayv3, and stops it in its last block; this test only executes the blocks and cleans up if one fails.
``bash`` blocks' ``weipay`` commands and the option tables are checked against the real click commands.
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"
TEXT = GUIDE.read_text(encoding="utf-8")
_FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    """One fenced block of the guide."""

    lang: str
    kind: str
    source: str
    line: int


BLOCKS = [
    Block(m.group(1), m.group(2).split("\n", 1)[0].strip(), m.group(2), TEXT.count("\n", 0, m.start()) + 1)
    for m in _FENCE.finditer(TEXT)
]
PYTHON = [block for block in BLOCKS if block.lang == "python"]
RUNNABLE = [block for block in PYTHON if block.kind == "# runnable"]


def test_every_python_block_is_marked() -> None:
    unmarked = [block.line for block in PYTHON if block.kind not in ("# runnable", "# illustration")]
    assert not unmarked, f"python blocks without a marker at lines {unmarked}"
    assert len(RUNNABLE) >= 8


def test_the_guide_covers_each_topic_with_running_code() -> None:
    code = "\n".join(block.source for block in RUNNABLE)
    expected = ["init_bundle(", "start_in_thread(", "MerchantCredentials.from_bundle", "v3_notification",
                "API_BASE_URL", "trust_env = False", "refund.API_BASE_URL", "parse_payment_result",
                "parse_refund_notify_result", "_core._gate_way", "public_key_id=", "cert_dir=",
                "_update_certificates", "/simulator/login-codes", "/simulator/payments", "/simulator/orders",
                "/simulator/notifications", "/simulator/faults", "/simulator/payer", "SimulatorTransport(",
                "strict=True", "OutcomeUnknown", "verification=\"platform_certificate\""]
    missing = [name for name in expected if name not in code]
    assert not missing, f"the guide's runnable code never uses {missing}"


def test_runnable_blocks_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    namespace: dict[str, Any] = {"__name__": "simulator_guide"}
    printed = io.StringIO()
    try:
        for block in RUNNABLE:
            code = compile("\n" * block.line + block.source, "docs/simulator.md", "exec")
            try:
                with contextlib.redirect_stdout(printed):
                    exec(code, namespace)  # the guide is our own file, run on purpose
            except Exception as exc:
                raise AssertionError(f"docs/simulator.md block at line {block.line} failed: {exc!r}"
                                     f"\n--- printed so far ---\n{printed.getvalue()}") from exc
    finally:
        _close(namespace)
    out = printed.getvalue()
    assert "outcome unknown" in out and "strict: PARAM_ERROR" in out, out


def _close(namespace: dict[str, Any]) -> None:
    # Only matters when a block failed half-way: the last block closes everything itself.
    for name in ("running", "cert_running"):
        with contextlib.suppress(Exception):
            namespace[name].stop()
    for name in ("sim", "cert_sim", "local_sim", "strict_sim"):
        with contextlib.suppress(Exception):
            namespace[name].close()
    with contextlib.suppress(Exception):
        namespace["endpoint"].shutdown()


def _options(command: Any) -> set[str]:
    return {opt for param in command.params for opt in param.opts if opt.startswith("--")}


def test_documented_options_exist() -> None:
    from weipay.cli.simulator_cmd import simulator

    init, serve = simulator.commands["init"], simulator.commands["serve"]
    start = TEXT[TEXT.index("## Start it"): TEXT.index("## The bundle")]
    init_text = start[start.index("`init` options"): start.index("`serve` options")]
    serve_text = start[start.index("`serve` options"):]
    assert set(re.findall(r"`(--[a-z-]+)", init_text)) == _options(init) - {"--help", "-h"}
    assert set(re.findall(r"^\| `(--[a-z-]+)", serve_text, re.MULTILINE)) == _options(serve) - {"--help", "-h"}
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
    source = (Path(__file__).resolve().parents[2] / "src/weipay/simulator/control_api.py").read_text()
    routes = set(re.findall(r'\("(GET|POST|PUT)", "(/simulator/[a-z-]+)"\)', source))
    table = TEXT[TEXT.index("## The control API"): TEXT.index("## Faults")]
    for method, path in routes:
        assert re.search(rf"{method}[^|]*`?\s*{re.escape(path)}|`{method} {re.escape(path)}`", table) or \
            f"{method} {path}" in table or f"`GET`/`PUT {path}`" in table, f"{method} {path} is not documented"


def test_contents_links_point_at_headings() -> None:
    headings = re.findall(r"^#+ (.+)$", TEXT, re.MULTILINE)
    slugs = {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}
    links = re.findall(r"\]\(#([^)]+)\)", TEXT)
    assert links and set(links) <= slugs, sorted(set(links) - slugs)
