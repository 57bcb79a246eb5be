"""``docs/service.md`` stays true: its ``# runnable`` blocks run in order (service + in-process simulator), its
``toml`` configurations load with the real loader, and the endpoints, settings and commands it names exist."""

from __future__ import annotations

import ast
import contextlib
import io
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "service.md"
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
    for block in PYTHON:
        ast.parse(block.source)


def test_runnable_blocks_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    namespace: dict[str, Any] = {"__name__": "service_guide"}
    printed = io.StringIO()
    try:
        for block in RUNNABLE:
            code = compile("\n" * block.line + block.source, "docs/service.md", "exec")
            try:
                with contextlib.redirect_stdout(printed):
                    exec(code, namespace)  # the guide is our own file, run on purpose
            except Exception as exc:
                raise AssertionError(f"docs/service.md block at line {block.line} failed: {exc!r}"
                                     f"\n--- printed so far ---\n{printed.getvalue()}") from exc
    finally:
        for name in ("api", "control", "sim"):
            with contextlib.suppress(Exception):
                namespace[name].close()
    assert "database at revision" in printed.getvalue()


def test_the_production_example_loads_and_its_rules_hold(tmp_path: Path) -> None:
    from weipay.service.settings import SettingsError, load_settings

    tomls = [block for block in BLOCKS if block.lang == "toml"]
    assert tomls
    for block in tomls:
        path = tmp_path / "weipay.toml"
        path.write_text(block.source)
        settings = load_settings(path, environ={})
        assert settings.environment == "production" and settings.merchants
        # Each documented production rule refuses what it says.
        for needle, replacement in (
            ('public_base_url = "https://', 'public_base_url = "http://'),
            ('api_v3_key = "', 'api_v3_key = "changeme'),
            ("[[merchants]]\n", '[[merchants]]\nbundle_dir = "/tmp/sim/merchant"\n'),
            ("[[merchants]]\n", '[[merchants]]\napi_keys = ["wpk_0123456789abcdefghijklmnopq"]\n'),
            (re.search(r'session_secret = "[^"]*"', block.source)[0], 'session_secret = "tooshort"'),  # type: ignore[index]
        ):
            assert needle in block.source, needle
            path.write_text(block.source.replace(needle, replacement, 1))
            with pytest.raises(SettingsError, match="refused in production"):
                load_settings(path, environ={})
        # The environment wins over the file.
        path.write_text(block.source)
        assert load_settings(path, environ={"WEIPAY_NOTIFY_EXPECTED_AFTER_S": "42"}).notify_expected_after_s == 42


def test_documented_settings_exist() -> None:
    from weipay.service.settings import AdminSettings, MerchantSettings, Settings, WeChatEndpoints

    section = TEXT[TEXT.index("## Configuration"): TEXT.index("## Follow along")]
    fields = set(Settings.model_fields) | set(MerchantSettings.model_fields) | set(AdminSettings.model_fields)
    fields |= set(WeChatEndpoints.model_fields)
    mentioned = set(re.findall(r"^([a-z_0-9]+) = ", section, re.MULTILINE))
    mentioned |= {m for m in re.findall(r"`([a-z][a-z_0-9]+)`", section) if "_" in m and not m.startswith("weipay")}
    ignored = {"api_key", "load_settings", "refund_approval_required", "miniprogram", "official_account"}
    unknown = sorted(mentioned - fields - ignored)
    assert not unknown, f"docs/service.md names settings that do not exist: {unknown}"


def test_endpoint_table_matches_the_app() -> None:
    from weipay.service.api.routes import build_router

    section = TEXT[TEXT.index("## Endpoints"): TEXT.index("**Login.**")]
    documented = {(m, p.split("?")[0]) for m, p in re.findall(r"`(GET|POST) (/[^`]+)`", section)}
    routes = {(method, route.path) for route in build_router().routes for method in route.methods}  # type: ignore[attr-defined]
    renamed = {(m, re.sub(r"\{order_id\}|\{refund_id\}", "{id}", p)) for m, p in routes}
    missing = sorted(renamed - documented)
    assert not missing, f"endpoints missing from docs/service.md: {missing}"
    known = renamed | {("POST", "/notify/wechatpay/v3/{mchid}"), ("POST", "/notify/wechatpay/v2/{mchid}"),
                       ("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/openapi.json")}
    assert not sorted(documented - known), sorted(documented - known)


def test_job_kinds_and_commands_exist() -> None:
    from weipay.cli.main import cli
    from weipay.service.usecases import outbox

    section = TEXT[TEXT.index("## Jobs and the worker"): TEXT.index("## Refunds")]
    kinds = set(re.findall(r"^\| `([a-z_]+)`", section, re.MULTILINE))
    assert kinds == {outbox.QUERY_ATTEMPT, outbox.EXPIRE_ORDER, outbox.SYNC_REFUND, outbox.DELIVER_WEBHOOK,
                     outbox.AUTO_REFUND}
    for line in TEXT.splitlines():
        for command in re.findall(r"`weipay ([a-z]+)|^weipay ([a-z]+)", line):
            name = command[0] or command[1]
            assert name in cli.commands, line
    for flag in re.findall(r"`(--[a-z-]+)", TEXT):
        options = {opt for cmd in ("serve", "worker", "db", "reconcile") for opt in _options(cli.commands[cmd])}
        assert flag.split("/")[0] in options | {"--no-migrate"}, flag


def _options(command: Any) -> set[str]:
    found = {opt for param in getattr(command, "params", []) for opt in param.opts + param.secondary_opts}
    for sub in getattr(command, "commands", {}).values():
        found |= _options(sub)
    return found


def test_contents_links_point_at_headings() -> None:
    headings = re.findall(r"^#+ (.+)$", TEXT, re.MULTILINE)
    slugs = {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}
    links = re.findall(r"\]\(#([^)]+)\)", TEXT)
    assert links and set(links) <= slugs, sorted(set(links) - slugs)
