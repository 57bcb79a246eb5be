"""Times in response bodies: ISO 8601 UTC, seconds precision."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso"]


def iso(unix_s: float | None) -> str | None:
    """``1795396740.5 -> "2026-11-23T01:19:00Z"`` (seconds precision)."""
    if unix_s is None:
        return None
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
