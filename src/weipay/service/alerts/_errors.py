"""The one error a sink raises: the message was not accepted (the job queue will send it again)."""

from __future__ import annotations

__all__ = ["AlertDeliveryFailed"]


class AlertDeliveryFailed(Exception):
    """A sink could not deliver a message. ``reason`` never holds the URL: robot URLs carry their key."""

    def __init__(self, sink: str, reason: str) -> None:
        super().__init__(f"alert sink {sink}: {reason}")
        self.sink = sink
        self.reason = reason
        # The worker stores a failed job's ``code`` as its last error; the reason is safe there (no URL).
        self.code = f"alert_delivery_failed: {sink}: {reason}"[:300]
