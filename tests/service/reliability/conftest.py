"""Reliability suites (RELIABILITY.md section c): the service with the simulator as WeChat, SQLite and PostgreSQL."""

from __future__ import annotations

from ..core_harness import core, core_bundle
from ..web_harness import bundle_template, certificate_bundle_template, harness, harness_factory

__all__ = ["bundle_template", "certificate_bundle_template", "core", "core_bundle", "harness", "harness_factory"]
