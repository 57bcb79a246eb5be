"""docs/prometheus/alerts.yml and docs/grafana/weipay.json are well formed and name only metrics /metrics serves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from ..web_harness import Harness

DOCS = Path(__file__).resolve().parents[3] / "docs"
RULES = DOCS / "prometheus" / "alerts.yml"
DASHBOARD = DOCS / "grafana" / "weipay.json"
_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
             "gauge": ("",), "unknown": ("",)}  # fmt: skip


def served_metric_names(harness: Harness) -> set[str]:
    """Every series name /metrics can produce (a labelled family with no children yet still declares its type)."""
    text = harness.api.get("/metrics").text
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
    return names


def referenced(expr: str) -> set[str]:
    return set(re.findall(r"\bweipay_[a-z_]+", expr))


def test_alert_rules_are_complete_and_name_served_metrics(harness: Harness) -> None:
    document = yaml.safe_load(RULES.read_text())
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert len({rule["alert"] for rule in rules}) == len(rules) >= 8
    served = served_metric_names(harness)
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        names = referenced(rule["expr"])
        assert names and names <= served, (rule["alert"], names - served)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_rules() -> None:
    subprocess.run(["promtool", "check", "rules", str(RULES)], check=True)


def test_dashboard_panels_query_served_metrics(harness: Harness) -> None:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["__inputs"][0]["pluginId"] == "prometheus"
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    served = served_metric_names(harness)
    shown: set[str] = set()
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = referenced(target["expr"])
            assert names and names <= served, (panel["title"], names - served)
            shown |= names
    # Every metric family the service exports has a panel.
    families = {name for name in served if not name.endswith("_created")}
    bare = {re.sub(r"_(bucket|count|sum)$", "", name) for name in shown}
    missing = {name for name in families if name not in shown and re.sub(r"_(bucket|count|sum)$", "", name) not in bare}
    assert not missing, missing
