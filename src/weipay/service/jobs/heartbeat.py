"""The worker's liveness signal: a file whose modification time is the end of its last good pass.

``weipay worker --heartbeat-file F`` touches ``F`` after every pass that did not fail; ``weipay worker --check
--heartbeat-file F`` (a systemd ``ExecStartPost``/timer, a container health check, a monitoring probe) fails when
the file is missing or older than the allowed age. A file and not a port: the worker serves no HTTP, and a
touch costs one system call per pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["DEFAULT_MAX_AGE_S", "beat", "stale_reason"]

# A pass runs up to 50 jobs; one waiting on a slow host can take tens of seconds, so a few minutes, not seconds.
DEFAULT_MAX_AGE_S = 300.0


def beat(path: Path) -> Callable[[], None]:
    """A heartbeat for :func:`weipay.service.jobs.poll_loop`: touches ``path`` (creating it and its directory)."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def touch() -> None:
        path.touch()

    return touch


def stale_reason(path: Path, max_age_s: float, now: float | None = None) -> str | None:
    """None when ``path`` was touched within ``max_age_s``; otherwise what is wrong, in words."""
    try:
        touched = path.stat().st_mtime
    except FileNotFoundError:
        return (f"no heartbeat file {path}: the worker has not finished a pass since it started with "
                "--heartbeat-file (or runs with another path)")  # fmt: skip
    age = (time.time() if now is None else now) - touched
    if age > max_age_s:
        return (f"the worker's last good pass ended {age:.0f} s ago (allowed: {max_age_s:g} s): it is stuck, "
                "stopped, or every pass fails (see its log, e.g. the database is unreachable)")  # fmt: skip
    return None
