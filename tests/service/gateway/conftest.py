"""Fixtures: the service core with the simulator as WeChat, on SQLite and PostgreSQL."""

from ..core_harness import core, core_bundle

__all__ = ["core", "core_bundle"]
