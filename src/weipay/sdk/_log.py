"""One log line per HTTP exchange, and nothing secret in it.

The SDK logs through stdlib :mod:`logging` (logger ``weipay.sdk``): method, path, status, latency,
WeChat's request id and the attempt number. Never bodies, headers, keys or query strings of the login
host (``Api.LOGIN``: its query carries the app secret, and the mini-program APIs' carries the access token).
httpx itself logs every request URL at INFO, so a filter on the ``httpx`` logger masks the secret-bearing
query parameters there too.
"""

from __future__ import annotations

import logging
import re

__all__ = ["LOGGER_NAME", "install_httpx_redaction", "log_exchange", "loggable_path"]

LOGGER_NAME = "weipay.sdk"

_SECRET_QUERY = re.compile(
    r"((?:^|[?&])(?:secret|js_code|code|access_token|refresh_token|session_key)=)[^&\s\"']*", re.IGNORECASE
)


def loggable_path(path: str, *, drop_query: bool) -> str:
    """The path as it may appear in a log: without the query when it might carry a secret."""
    if drop_query:
        return path.partition("?")[0]
    return _SECRET_QUERY.sub(r"\1<redacted>", path)


def log_exchange(
    logger: logging.Logger,
    *,
    method: str,
    path: str,
    outcome: str,
    latency_ms: float,
    request_id: str | None,
    attempt: int,
) -> None:
    """Log one exchange; ``path`` must already be :func:`loggable_path`."""
    logger.info(
        "%s %s -> %s latency_ms=%.1f request_id=%s attempt=%d",
        method,
        path,
        outcome,
        latency_ms,
        request_id or "-",
        attempt,
    )


class _RedactQuery(logging.Filter):
    """Masks ``secret=``/``js_code=``/``code=`` values in records of another library (httpx logs full URLs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_QUERY.sub(r"\1<redacted>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_FILTER = _RedactQuery()


def install_httpx_redaction() -> None:
    """Attach the query-masking filter to the ``httpx`` logger once (idempotent)."""
    httpx_logger = logging.getLogger("httpx")
    if _FILTER not in httpx_logger.filters:
        httpx_logger.addFilter(_FILTER)
