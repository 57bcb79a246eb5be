"""An operator resolves an anomaly: it leaves the open list, keeping who resolved it, when, and their note.

An anomaly never changed any state (see ``settlement.add_anomaly``), so resolving one changes nothing else
either: it records that a person looked. A repeat of the same fact after that opens a new row.
"""

from __future__ import annotations

import logging

from weipay.service.domain import Anomaly, NotFound, check_text

from .ports import Clock, UnitOfWork

__all__ = ["resolve_anomaly"]

log = logging.getLogger("weipay.service")

_NOTE_MAX_CHARS = 200


def resolve_anomaly(
    uow: UnitOfWork, clock: Clock, anomaly_id: int, *, operator: str, note: str | None = None
) -> Anomaly:
    """Mark the anomaly resolved by ``operator`` (``anomaly_not_found``); resolving it again changes nothing."""
    check_text("note", note, max_chars=_NOTE_MAX_CHARS)
    with uow.write() as tx:
        if tx.anomalies.get(anomaly_id) is None:
            raise NotFound("anomaly_not_found", f"no anomaly {anomaly_id}")
        resolved = tx.anomalies.resolve(anomaly_id, clock(), by=operator[:64], note=note or None)
        anomaly = tx.anomalies.get(anomaly_id)
    assert anomaly is not None
    if resolved:
        log.info("anomaly %s (%s) resolved by %s", anomaly.id, anomaly.kind, operator)
    return anomaly
