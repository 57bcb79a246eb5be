"""The service's own Prometheus metrics, framework-free so that ``weipay worker`` exports them too.

Two sources:

* **WeChat calls**, counted as each call record is written (the unit of work's ``call_observers``, the one place
  every outbound call passes through): ``weipay_wechat_calls_total{api, endpoint, outcome}`` and the latency
  histogram ``weipay_wechat_call_seconds{api, endpoint}``. Endpoints are WeChat's path templates (never an
  order number), so the label sets stay small. Each process counts the calls it made.
* **Backlog**, read from the database at scrape time (:func:`weipay.service.db.backlog.read_backlog`, three
  grouped statements) and cached for ``cache_s`` (5 s) so that several scrapers cost one read: the job queue
  (depth, lag, retrying, dead), webhook deliveries, anomalies by kind and alerts sent. Every process reports
  the same backlog; aggregate it with ``max`` in queries, never ``sum``.

A database that does not answer turns ``weipay_backlog_up`` to 0 instead of failing the whole scrape.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .db import SqlUnitOfWork
from .db.backlog import Backlog, read_backlog
from .domain import CallRecord

__all__ = ["BACKLOG_CACHE_S", "BacklogCollector", "ServiceMetrics"]

log = logging.getLogger("weipay.service.metrics")

BACKLOG_CACHE_S = 5.0
# WeChat answers in 100-300 ms when healthy; the SDK's default timeout is 10 s.
_WECHAT_BUCKETS_S = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 3.0, 5.0, 10.0)


class ServiceMetrics:
    """Registers the WeChat call metrics and the backlog collector in ``registry`` and starts counting calls
    written through ``uow``."""

    def __init__(
        self,
        registry: CollectorRegistry,
        uow: SqlUnitOfWork,
        clock: Callable[[], float],
        *,
        cache_s: float = BACKLOG_CACHE_S,
    ) -> None:
        self.wechat_calls = Counter(
            "weipay_wechat_calls", "Outbound WeChat calls by API, endpoint and outcome (ok | refused | unknown)",
            ["api", "endpoint", "outcome"], registry=registry,
        )  # fmt: skip
        self.wechat_latency = Histogram(
            "weipay_wechat_call_seconds", "Outbound WeChat call latency by API and endpoint", ["api", "endpoint"],
            registry=registry, buckets=_WECHAT_BUCKETS_S,
        )  # fmt: skip
        self.backlog = BacklogCollector(uow, clock, cache_s=cache_s)
        registry.register(self.backlog)
        uow.call_observers.append(self.observe_calls)

    def observe_calls(self, records: Sequence[CallRecord]) -> None:
        """Count outbound calls (inbound notifications have their own counter at the HTTP edge)."""
        for record in records:
            if record.direction != "outbound":
                continue
            self.wechat_calls.labels(record.api, record.endpoint, record.outcome).inc()
            self.wechat_latency.labels(record.api, record.endpoint).observe(record.latency_ms / 1000)


class BacklogCollector(Collector):
    """Gauges read from the database when scraped (cached ``cache_s`` on the service's clock)."""

    def __init__(self, uow: SqlUnitOfWork, clock: Callable[[], float], *, cache_s: float = BACKLOG_CACHE_S) -> None:
        self._uow = uow
        self._clock = clock
        self._cache_s = cache_s
        self._lock = threading.Lock()  # concurrent scrapes wait for one read instead of each running one
        self._cached: tuple[float, Backlog] | None = None

    def describe(self) -> list[Metric]:
        """Nothing up front: describing would read the database at registration."""
        return []

    def snapshot(self) -> tuple[float, Backlog]:
        """``(read_at, backlog)``, read again when the cached one is older than ``cache_s``."""
        with self._lock:
            now = self._clock()
            if self._cached is None or not 0 <= now - self._cached[0] < self._cache_s:
                with self._uow.read() as tx:
                    self._cached = (now, read_backlog(tx.connection, now))
            return self._cached

    def collect(self) -> Iterator[Metric]:
        """The families; ``weipay_backlog_up`` says whether the database answered."""
        up = GaugeMetricFamily("weipay_backlog_up", "1 when the backlog gauges could be read from the database")
        try:
            read_at, backlog = self.snapshot()
        except Exception as error:  # a scrape must still answer (HTTP and WeChat metrics) when the database is down
            log.warning("backlog metrics unavailable: %s", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _job_families(backlog, read_at)
        yield from _anomaly_families(backlog)
        yield from _alert_families(backlog)


def _job_families(backlog: Backlog, now: float) -> Iterator[Metric]:
    jobs = GaugeMetricFamily("weipay_jobs", "Jobs by kind and status (pending | running | dead)",
                             labels=["kind", "status"])  # fmt: skip
    due = GaugeMetricFamily("weipay_jobs_due", "Pending jobs already due (the queue depth)", labels=["kind"])
    lag = GaugeMetricFamily("weipay_job_lag_seconds", "How long the oldest due job has waited", labels=["kind"])
    retrying = GaugeMetricFamily("weipay_jobs_retrying", "Pending jobs that failed at least once", labels=["kind"])
    for row in backlog.jobs:
        jobs.add_metric([row.kind, row.status], row.count)
        if row.status == "pending":
            due.add_metric([row.kind], row.due_now)
            retrying.add_metric([row.kind], row.retrying)
            waited = now - row.oldest_due_at if row.oldest_due_at is not None else 0.0
            lag.add_metric([row.kind], max(0.0, waited))
    yield from (jobs, due, lag, retrying, _webhook_family(backlog))


def _webhook_family(backlog: Backlog) -> Metric:
    """Deliveries not delivered: ``pending`` (waiting, retrying included), ``retrying`` (pending after a failed
    attempt) and ``dead`` (failed: the schedule ran out and an operator has not redelivered them)."""
    webhooks = GaugeMetricFamily(
        "weipay_webhook_deliveries", "Webhooks to merchants not yet delivered (pending | retrying | dead)",
        labels=["state"],
    )  # fmt: skip
    states = {"pending": 0, "retrying": 0, "dead": 0}
    for row in backlog.webhooks:
        if row.status == "failed":
            states["dead"] += row.count
        else:
            states["pending"] += row.count
            states["retrying"] += row.retrying
    for state, count in states.items():
        webhooks.add_metric([state], count)
    return webhooks


def _anomaly_families(backlog: Backlog) -> Iterator[Metric]:
    rows = GaugeMetricFamily("weipay_anomalies", "Anomalies (distinct facts) by kind and state (open | resolved)",
                             labels=["kind", "state"])  # fmt: skip
    occurrences = CounterMetricFamily(
        "weipay_anomaly_occurrences", "Anomaly occurrences by kind (repeats of one fact included)", labels=["kind"]
    )
    totals: dict[str, int] = {}
    for row in backlog.anomalies:
        rows.add_metric([row.kind, "open" if row.open else "resolved"], row.count)
        totals[row.kind] = totals.get(row.kind, 0) + row.occurrences
    for kind, total in sorted(totals.items()):
        occurrences.add_metric([kind], total)
    yield from (rows, occurrences)


def _alert_families(backlog: Backlog) -> Iterator[Metric]:
    messages = CounterMetricFamily("weipay_alert_messages_sent", "Alert messages sent by sink", labels=["sink"])
    events = CounterMetricFamily(
        "weipay_alert_events_reported", "Alert occurrences those messages reported, by sink", labels=["sink"]
    )
    for row in backlog.alerts:
        messages.add_metric([row.sink], row.messages)
        events.add_metric([row.sink], row.events)
    yield from (messages, events)
