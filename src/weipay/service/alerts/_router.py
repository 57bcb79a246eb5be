"""Which sinks hear an alert, and the ``alert`` job: tell each of them what it has not heard yet.

A route is a sink plus its filters (``min_severity``, ``merchants``). Delivering a group (one alert key in
one window) sends each interested sink one message counting the occurrences past that sink's progress,
then records the new progress in its own short transaction. A sink that fails keeps its progress, the
others keep theirs, and the job fails so the queue runs it again later: only the failed sink is sent to
again, and nothing a payment does ever waits for this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from weipay.service.db import SqlUnitOfWork
from weipay.service.usecases.alerting import Severity

from ._errors import AlertDeliveryFailed
from ._log import LogSink
from ._message import AlertMessage

__all__ = ["AlertRoute", "AlertRouter", "AlertSink"]

logger = logging.getLogger("weipay.alerts")


class AlertSink(Protocol):
    """Something that delivers a message or raises :class:`AlertDeliveryFailed`."""

    name: str

    def send(self, message: AlertMessage, now: float) -> None:
        """Deliver ``message`` (``now`` dates the signatures)."""
        ...


@dataclass(frozen=True, slots=True)
class AlertRoute:
    """A sink and the alerts it wants: at least ``min_severity``, of ``merchants`` (empty: every merchant,
    and alerts about no merchant in particular)."""

    sink: AlertSink
    min_severity: Severity = Severity.WARNING
    merchants: frozenset[str] = field(default_factory=frozenset)

    def wants(self, severity: str, mchid: str | None) -> bool:
        """True if this route takes an alert of ``severity`` about merchant ``mchid``."""
        if Severity(severity).rank < self.min_severity.rank:
            return False
        return not self.merchants or mchid in self.merchants


class AlertRouter:
    """The configured routes; delivers ``alert`` jobs."""

    def __init__(self, routes: Sequence[AlertRoute]) -> None:
        names = [route.sink.name for route in routes]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"alert sink name {duplicates[0]!r} is used twice: progress is kept per name")
        self.routes = tuple(routes)

    @classmethod
    def log_only(cls) -> AlertRouter:
        """Every alert of warning or above to the log: what runs when nothing is configured."""
        return cls([AlertRoute(LogSink())])

    def deliver(self, uow: SqlUnitOfWork, alert_key: str, window_start: float, clock: Callable[[], float]) -> int:
        """Send each interested sink the occurrences it has not heard of; how many messages were sent.

        Raises :class:`AlertDeliveryFailed` (after trying every sink) if any sink failed.
        """
        with uow.read() as tx:
            whole = tx.alerts.group(alert_key, window_start)
            progress = tx.alerts.progress(alert_key, window_start)
        if whole is None:
            return 0
        sent = 0
        failures: list[AlertDeliveryFailed] = []
        for route in self.routes:
            if not route.wants(whole.first.severity, whole.first.mchid):
                continue
            done = progress.get(route.sink.name)
            with uow.read() as tx:
                group = tx.alerts.group(alert_key, window_start, after_id=done.last_event_id if done else 0)
            if group is None:
                continue
            message = AlertMessage.from_group(group, continued=done is not None)
            try:
                route.sink.send(message, clock())
            except AlertDeliveryFailed as error:
                failures.append(error)
                continue
            with uow.write() as tx:
                tx.alerts.delivered(alert_key, window_start, route.sink.name, up_to_id=group.last.id,
                                    events=group.count, now=clock())  # fmt: skip
            sent += 1
        if failures:
            for failure in failures:
                logger.warning("alert %s not delivered: %s", alert_key, failure)
            if len(failures) == 1:
                raise failures[0]
            raise AlertDeliveryFailed(",".join(f.sink for f in failures), "; ".join(f.reason for f in failures))
        return sent
