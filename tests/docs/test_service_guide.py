"""``docs/service.md`` stays true: its ``# runnable`` blocks run in order (service + in-process simulator), its
``toml`` configurations load with the real loader, and the endpoints, settings and commands it names exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import guides
import pytest

TEXT, BLOCKS, PYTHON, RUNNABLE = guides.load("service.md")


def test_every_python_block_is_marked() -> None:
    unmarked = [block.line for block in guides.unmarked(BLOCKS)]
    assert not unmarked, f"python blocks without a marker at lines {unmarked}"
    for block in PYTHON:
        ast.parse(block.source)


def test_runnable_blocks_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    printed = guides.run_in_order(RUNNABLE, "docs/service.md", "service_guide", tmp_path, monkeypatch, _close)
    assert "database at revision" in printed


def _close(namespace: dict[str, Any]) -> None:
    guides.close(namespace, ("api", "control", "sim"))


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
    from weipay.service.settings import AdminSettings, AlertSink, MerchantSettings, Settings, WeChatEndpoints

    section = TEXT[TEXT.index("## Configuration"): TEXT.index("## Follow along")]
    fields = set(Settings.model_fields) | set(MerchantSettings.model_fields) | set(AdminSettings.model_fields)
    fields |= set(WeChatEndpoints.model_fields) | set(AlertSink.model_fields)
    from weipay.service import _secret_files

    fields |= {f"{name}_file" for name in _secret_files.MERCHANT_SECRETS + _secret_files.ADMIN_SECRETS}
    fields |= {f"{name}_file" for name in _secret_files.ALERT_SECRETS}
    fields |= {"miniprogram_file"}  # an app_secrets kind + _file
    mentioned = set(re.findall(r"^([a-z_0-9]+) = ", section, re.MULTILINE))
    mentioned |= {m for m in re.findall(r"`([a-z][a-z_0-9]+)`", section) if "_" in m and not m.startswith("weipay")}
    ignored = {"api_key", "load_settings", "refund_approval_required", "miniprogram", "official_account"}
    unknown = sorted(mentioned - fields - ignored)
    assert not unknown, f"docs/service.md names settings that do not exist: {unknown}"


def test_endpoint_table_matches_the_app() -> None:
    from weipay.service.api.checkout_page import build_checkout_router
    from weipay.service.api.list_routes import build_list_router
    from weipay.service.api.routes import build_router
    from weipay.service.api.shipping_routes import build_shipping_router

    section = TEXT[TEXT.index("## Endpoints"): TEXT.index("**Login.**")]
    documented = {(m, p.split("?")[0]) for m, p in re.findall(r"`(GET|POST) (/[^`]+)`", section)}
    every_route = [*build_router().routes, *build_list_router().routes, *build_checkout_router(b"s" * 32).routes,
                   *build_shipping_router().routes]
    routes = {(method, route.path) for route in every_route for method in route.methods}  # type: ignore[attr-defined]
    renamed = {(m, re.sub(r"\{order_id\}|\{refund_id\}|\{job_id\}", "{id}", p)) for m, p in routes}
    missing = sorted(renamed - documented)
    assert not missing, f"endpoints missing from docs/service.md: {missing}"
    known = renamed | {("POST", "/notify/wechatpay/v3/{mchid}"), ("POST", "/notify/wechatpay/v2/{mchid}"),
                       ("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/openapi.json")}
    assert not sorted(documented - known), sorted(documented - known)


def test_job_kinds_and_commands_exist() -> None:
    from weipay.cli.main import cli
    from weipay.service.jobs.worker import HANDLERS

    section = TEXT[TEXT.index("## Jobs and the worker"): TEXT.index("## Refunds")]
    kinds = set(re.findall(r"^\| `([a-z_]+)`", section, re.MULTILINE))
    assert kinds == set(HANDLERS)  # every job kind the worker runs is documented, and nothing else
    for line in TEXT.splitlines():
        for command in re.findall(r"`weipay ([a-z]+)|^weipay ([a-z]+)", line):
            name = command[0] or command[1]
            assert name in cli.commands, line
    for flag in re.findall(r"`(--[a-z-]+)", TEXT):
        options = {opt for cmd in ("serve", "worker", "db", "reconcile", "config")
                   for opt in guides.all_options(cli.commands[cmd])}
        assert flag.split("/")[0] in options | {"--no-migrate"}, flag


def test_contents_links_point_at_headings() -> None:
    guides.assert_contents_links_point_at_headings(TEXT)


def test_the_secrets_from_files_example_loads(tmp_path: Path) -> None:
    """The ``bash`` block of "Secrets from files": each exported ``*_FILE`` variable, pointed at a real file."""
    from weipay.service.settings import load_settings

    block = next(b for b in BLOCKS if b.lang == "bash" and "_FILE=" in b.source)
    exports = dict(re.findall(r"^export (WEIPAY_[A-Z0-9_]+)=(\S+)", block.source, re.MULTILINE))
    environ = {}
    for name, value in exports.items():
        if name.endswith("_FILE"):
            secret = tmp_path / Path(value).name
            secret.write_text(f"{name.lower()}-Zq8vN3pL5tR7wY1xC4bM6dF9\n")
            environ[name] = str(secret)
    config = tmp_path / "weipay.toml"
    config.write_text('[[merchants]]\nmchid = "1900000109"\nwebhook_url = "https://erp.example.com/hook"\n')
    settings = load_settings(config, environ={**environ, "WEIPAY_CONFIG": str(config)})
    merchant = settings.merchants[0]
    assert merchant.api_v3_key is not None and merchant.webhook_secret is not None
    assert settings.admin.password is not None and settings.admin.session_secret is not None
    assert merchant.api_v3_key.get_secret_value().endswith("-Zq8vN3pL5tR7wY1xC4bM6dF9")  # one newline removed
    assert set(exports) >= {"WEIPAY_CONFIG"} and len(environ) == len(exports) - 1
