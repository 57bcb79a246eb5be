"""Fixtures: the service core with the simulator as WeChat, and the service over HTTP; SQLite and PostgreSQL."""

from ..core_harness import core, core_bundle
from ..web_harness import bundle_template, certificate_bundle_template, harness, harness_factory

__all__ = ["bundle_template", "certificate_bundle_template", "core", "core_bundle", "harness", "harness_factory"]
