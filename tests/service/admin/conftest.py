"""The service over HTTP with the simulator as WeChat (see ``tests/service/web_harness.py``)."""

from __future__ import annotations

from ..web_harness import bundle_template, certificate_bundle_template, harness, harness_factory

__all__ = ["bundle_template", "certificate_bundle_template", "harness", "harness_factory"]
