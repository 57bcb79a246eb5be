"""The log sink: every alert as one log record on ``weipay.alerts`` (the default when nothing is configured)."""

from __future__ import annotations

import logging

from ._message import AlertMessage

__all__ = ["LogSink"]

_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR, "critical": logging.CRITICAL}


class LogSink:
    """Writes alerts to a logger; never fails."""

    def __init__(self, name: str = "log", logger: logging.Logger | None = None) -> None:
        self.name = name
        self._logger = logger or logging.getLogger("weipay.alerts")

    def __repr__(self) -> str:
        return f"LogSink(name={self.name!r})"

    def send(self, message: AlertMessage, now: float) -> None:
        """One record, the text rendering on one line per fact."""
        self._logger.log(_LEVELS.get(message.severity, logging.WARNING), "%s", message.as_text(),
                         extra={"alert_key": message.alert_key, "alert_count": message.count})  # fmt: skip
