"""Logging for the long-running processes (``weipay serve``, ``weipay worker``): one handler, two formats.

``json`` (the default in production) writes one JSON object per line for a log shipper: ``timestamp`` (UTC),
``level``, ``logger``, ``event`` (the readable message) and the record's fields: the ``request_id`` bound while an
HTTP request is handled (:mod:`weipay.service.api.request_id`), a job's ``job_id``/``job_kind``/``result``/…
(:mod:`weipay.service.jobs.job_log`), an ``exception`` with its traceback. ``console`` (the default in
development) writes the same facts as aligned, readable lines.

Every record goes through structlog's ``ProcessorFormatter`` on the root logger, so the standard-library records of
weipay, uvicorn (its access log included) and SQLAlchemy get the same treatment as structlog's own. Libraries and
tests never call :func:`configure_logging`; only the CLI does, once per process.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Literal, TextIO

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

__all__ = ["LOG_FORMATS", "LogFormat", "configure_logging", "default_format"]

LogFormat = Literal["json", "console"]
LOG_FORMATS: tuple[LogFormat, ...] = ("json", "console")

# Extras some libraries put on records for their own formatters (uvicorn's coloured copy of the message).
_DROPPED_EXTRAS = frozenset({"color_message"})
# The ``sig`` of a signed link (checkout page, QR image) is the link's only credential; access log lines keep the
# path and drop it.
_LINK_SIGNATURE = re.compile(r"([?&]sig=)[^&\s\"']+")


def default_format(environment: str) -> LogFormat:
    """JSON for production (a shipper parses it), console lines for development (a person reads them)."""
    return "json" if environment == "production" else "console"


def configure_logging(level: str = "INFO", log_format: LogFormat = "console", stream: TextIO | None = None) -> None:
    """Route every log record of the process through one ``stream`` handler (stderr) in ``log_format``."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: list[Processor]
    if log_format == "json":
        renderer = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer(ensure_ascii=False)]
    else:
        # A plain traceback: the default (rich, when installed) prints every frame's local variables, and those hold
        # SQL parameters, openids and keys that must never reach a log.
        renderer = [structlog.dev.ConsoleRenderer(colors=_is_tty(sys.stderr if stream is None else stream),
                                                  exception_formatter=structlog.dev.plain_traceback)]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(), _drop_library_extras, _redact_link_signatures],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
    )
    handler = _Handler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    # Replace only a handler of ours (called twice in one process: tests); others (pytest's capture) stay.
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``stream``, or to whatever ``sys.stderr`` is at the time of each record (as logging's own
    last-resort handler does), so a CLI run under a test runner that swaps stderr never writes to a closed one."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream if stream is not None else sys.stderr)
        self._fixed = stream

    def emit(self, record: logging.LogRecord) -> None:
        if self._fixed is None:
            self.stream = sys.stderr
        super().emit(record)


def _drop_library_extras(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    for key in _DROPPED_EXTRAS:
        event.pop(key, None)
    return event


def _redact_link_signatures(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    for key in ("event", "message"):  # a foreign record's text comes as both
        text = event.get(key)
        if isinstance(text, str) and "sig=" in text:
            event[key] = _LINK_SIGNATURE.sub(r"\1[redacted]", text)
    return event


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
